import { describe, expect, test } from "bun:test";
import { FwdError } from "../../src/errors.ts";
import { resolvePaths } from "../../src/paths.ts";
import { segmentMatch } from "../../src/sshconfig/fs.ts";
import type { ConfigFs } from "../../src/sshconfig/readconf.ts";
import { listHosts, type ResolveOptions, resolveHost } from "../../src/sshconfig/resolve.ts";

/** An in-memory file system: path -> text (mode 0600, owned by uid 1000). */
function memFs(files: Record<string, string>, modes: Record<string, number> = {}): ConfigFs {
  return {
    read: (p) => files[p],
    stat: (p) => ({ uid: 1000, mode: modes[p] ?? 0o600 }),
    glob: (pattern) => {
      const p = pattern.replace(/^~(?=\/|$)/, "/home/me");
      return Object.keys(files)
        .filter((f) => {
          const a = f.split("/");
          const b = p.split("/");
          return (
            a.length === b.length &&
            a.every(
              (seg, i) =>
                segmentMatch(seg, b[i] as string) &&
                (!seg.startsWith(".") || (b[i] as string).startsWith(".")),
            )
          );
        })
        .sort();
    },
  };
}

const env = { HOME: "/home/me", USER: "me", FWD_SYSTEM_CONFIG: "/etc/ssh/ssh_config" };

function opts(
  host: string,
  files: Record<string, string>,
  extra: Partial<ResolveOptions> = {},
): ResolveOptions {
  return {
    host,
    env,
    paths: resolvePaths(env),
    localUser: "me",
    localHostname: "laptop",
    uid: 1000,
    fs: memFs(files),
    ...extra,
  };
}

async function resolveErr(o: ResolveOptions): Promise<FwdError> {
  try {
    await resolveHost(o);
  } catch (e) {
    if (e instanceof FwdError) return e;
    throw e;
  }
  throw new Error("resolved, expected an error");
}

const seed =
  "Host forward1\n  HostName bastion-host\n  User bastion_user\n  LocalForward 10022 target-host:22\n";

describe("resolveHost", () => {
  test("reads ~/.ssh/config then the system config, first value wins", async () => {
    const r = await resolveHost(
      opts("forward1", {
        "/home/me/.ssh/config": seed,
        "/etc/ssh/ssh_config": "Host *\n  User system\n  Port 2200\n",
      }),
    );
    expect(r.options.get("user")).toEqual(["bastion_user"]);
    expect(r.options.get("port")).toEqual(["2200"]);
    expect(r.options.get("localforward")).toEqual(["10022 [target-host]:22"]);
    expect(r.origins.get("user")).toEqual({ file: "/home/me/.ssh/config", line: 3 });
    expect(r.origins.get("port")).toEqual({ file: "/etc/ssh/ssh_config", line: 3 });
    expect(r.hostBlocks).toEqual([
      { file: "/home/me/.ssh/config", line: 1, patterns: "Host forward1" },
      { file: "/etc/ssh/ssh_config", line: 1, patterns: "Host *" },
    ]);
  });

  test("the first keys are host, user, hostname, port, as ssh -G prints them", async () => {
    const r = await resolveHost(opts("forward1", { "/home/me/.ssh/config": seed }));
    expect([...r.options.keys()].slice(0, 4)).toEqual(["host", "user", "hostname", "port"]);
    expect(r.options.get("userknownhostsfile")).toEqual([
      "/home/me/.ssh/known_hosts /home/me/.ssh/known_hosts2",
    ]);
    expect(r.options.get("identityfile")?.[0]).toBe("~/.ssh/id_rsa");
  });

  test("-o options win over the config file and are reported from the command line", async () => {
    const r = await resolveHost(
      opts(
        "forward1",
        { "/home/me/.ssh/config": seed },
        { extraOptions: ["User=override", "Port 2022"] },
      ),
    );
    expect(r.options.get("user")).toEqual(["override"]);
    expect(r.origins.get("user")).toEqual({ file: "command-line", line: 0 });
  });

  test("a relative Include is read from ~/.ssh, and only applies inside its Host block", async () => {
    const files = {
      "/home/me/.ssh/config": "Host a\n  Include conf.d/*.conf\nHost b\n  User bee\n",
      "/home/me/.ssh/conf.d/10.conf": "User from-include\nPort 2300\n",
      "/home/me/.ssh/conf.d/.hidden.conf": "Port 1\n",
    };
    const a = await resolveHost(opts("a", files));
    expect(a.options.get("user")).toEqual(["from-include"]);
    expect(a.origins.get("port")).toEqual({ file: "/home/me/.ssh/conf.d/10.conf", line: 2 });
    const b = await resolveHost(opts("b", files));
    expect(b.options.get("user")).toEqual(["bee"]);
    expect(b.options.get("port")).toEqual(["22"]);
  });

  test("an Include that loops stops at depth 16 with a config error", async () => {
    const e = await resolveErr(opts("a", { "/home/me/.ssh/config": "Include ~/.ssh/config\n" }));
    expect(e.code).toBe("config");
    expect(e.message).toContain("Too many recursive configuration includes");
  });

  test("a world-writable included file is refused", async () => {
    const fs = memFs(
      { "/home/me/.ssh/config": "Include x\n", "/home/me/.ssh/x": "User u\n" },
      { "/home/me/.ssh/x": 0o666 },
    );
    const e = await resolveErr(opts("a", {}, { fs }));
    expect(e.message).toBe("Bad owner or permissions on /home/me/.ssh/x");
  });

  test.each([
    ["Host a\n  Frobnicate yes\n", "/home/me/.ssh/config:2: Bad configuration option: frobnicate"],
    ["Host a\n  Port 0\n", "/home/me/.ssh/config:2: Bad port '0'."],
    ["Host a\n  LocalForward 10022\n", "/home/me/.ssh/config:2: Missing target argument."],
    ["Match colour blue\n", "/home/me/.ssh/config:1: Unsupported Match attribute colour"],
    ['Host a\n  User "x\n', "/home/me/.ssh/config:2: invalid quotes"],
  ])("rejects %p with file:line and exit code 2", async (config, message) => {
    const e = await resolveErr(opts("a", { "/home/me/.ssh/config": config }));
    expect(e.message).toBe(message);
    expect(e.exitCode).toBe(2);
    expect(e.hint).toBeTruthy();
  });

  test("-F names the only file read; a missing -F file is an error", async () => {
    const files = { "/cfg": "Host a\n  User f\n", "/home/me/.ssh/config": "User home\n" };
    expect(
      (await resolveHost(opts("a", files, { configFile: "/cfg" }))).options.get("user"),
    ).toEqual(["f"]);
    expect((await resolveErr(opts("a", files, { configFile: "/missing" }))).message).toContain(
      "Can't open user config file /missing",
    );
  });

  test("Match exec is false unless allowed, and runs with tokens when allowed", async () => {
    const files = { "/home/me/.ssh/config": 'Match exec "test %h = a"\n  User execd\n' };
    expect((await resolveHost(opts("a", files))).options.get("user")).toEqual(["me"]);
    expect((await resolveHost(opts("a", files, { allowExec: true }))).options.get("user")).toEqual([
      "execd",
    ]);
    expect((await resolveHost(opts("b", files, { allowExec: true }))).options.get("user")).toEqual([
      "me",
    ]);
  });

  test("ClearAllForwardings drops every forward, wherever it was set", async () => {
    const files = {
      "/home/me/.ssh/config":
        "Host a\n  LocalForward 1 x:1\n  DynamicForward 2\nHost *\n  ClearAllForwardings yes\n",
    };
    const r = await resolveHost(opts("a", files));
    expect(r.options.get("localforward")).toBeUndefined();
    expect(r.options.get("dynamicforward")).toBeUndefined();
    expect(r.options.get("clearallforwardings")).toEqual(["yes"]);
  });

  test.each(["a b", "a;b", "x,y", "-x"])(
    "refuses the host argument %p as ssh does",
    async (host) => {
      expect((await resolveErr(opts(host, {}))).code).toBe("usage");
    },
  );
});

test("listHosts lists literal Host names in file order, following Include", async () => {
  const files = {
    "/home/me/.ssh/config": "Host forward1 *.wild !neg\nInclude inc\nHost forward2\n",
    "/home/me/.ssh/inc": "Host inc1 inc?\n",
    "/etc/ssh/ssh_config": "Host sys\n",
  };
  const { host: _h, ...rest } = opts("", files);
  expect(await listHosts(rest)).toEqual([
    { name: "forward1", file: "/home/me/.ssh/config", line: 1 },
    { name: "inc1", file: "/home/me/.ssh/inc", line: 1 },
    { name: "forward2", file: "/home/me/.ssh/config", line: 3 },
    { name: "sys", file: "/etc/ssh/ssh_config", line: 1 },
  ]);
});

test("forwards lists what ssh would open, unix-socket local forwards as local (not as ssh -G's dynamicforward quirk)", async () => {
  const files = {
    "/home/me/.ssh/config":
      "Host a\n  LocalForward 10022 target-host:22\n  LocalForward /tmp/l.sock /tmp/r.sock\n  DynamicForward 1080\n  RemoteForward 9000 localhost:80\n  RemoteForward 1081\n",
  };
  const r = await resolveHost(opts("a", files));
  expect(r.options.get("dynamicforward")).toEqual(["/tmp/l.sock", "1080"]);
  expect(r.forwards).toEqual([
    {
      kind: "local",
      listen: { bind: undefined, port: 10022 },
      connect: { host: "target-host", port: 22 },
    },
    { kind: "local", listen: { socket: "/tmp/l.sock" }, connect: { socket: "/tmp/r.sock" } },
    { kind: "dynamic", listen: { bind: undefined, port: 1080 } },
    {
      kind: "remote",
      listen: { bind: undefined, port: 9000 },
      connect: { host: "localhost", port: 80 },
    },
    {
      kind: "remote",
      listen: { bind: undefined, port: 1081 },
      connect: { host: "socks", port: 0 },
    },
  ]);
});
