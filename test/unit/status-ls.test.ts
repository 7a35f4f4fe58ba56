import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliForward, forwardsOf, lsCommand, renderLs } from "../../src/commands/ls.ts";
import { startTimeOf } from "../../src/daemon/proc.ts";
import { daemonFiles } from "../../src/daemon/state.ts";
import { parseForward } from "../../src/sshconfig/forward.ts";
import { killQuietly, spawnSleeper, tempDir, testCtx } from "../helpers/daemon-ctx.ts";

describe("forwards in ssh command-line syntax", () => {
  test.each([
    ["local", "10022 target-host:22", "-L 10022:target-host:22"],
    ["local", "127.0.0.1:10022 target-host:22", "-L 127.0.0.1:10022:target-host:22"],
    ["local", "[::1]:10022 [fe80::1]:22", "-L [::1]:10022:[fe80::1]:22"],
    ["remote", "8080 localhost:80", "-R 8080:localhost:80"],
    ["dynamic", "1080", "-D 1080"],
    ["local", "/tmp/fwd.sock /run/app.sock", "-L /tmp/fwd.sock:/run/app.sock"],
  ] as const)("%s %s -> %s", (kind, spec, want) => {
    expect(cliForward(parseForward(kind, spec, "config"))).toBe(want);
  });

  test("forwardsOf: all three kinds in order; none under ClearAllForwardings", () => {
    const o = new Map([
      ["localforward", ["10022 [target-host]:22"]],
      ["dynamicforward", ["1080"]],
      ["remoteforward", ["8080 [localhost]:80"]],
    ]);
    expect(forwardsOf(o)).toEqual(["-L 10022:target-host:22", "-R 8080:localhost:80", "-D 1080"]);
    expect(forwardsOf(new Map([...o, ["clearallforwardings", ["yes"]]]))).toEqual([]);
    expect(forwardsOf(new Map())).toEqual([]);
  });

  test("renderLs aligns the columns", () => {
    expect(
      renderLs([
        { name: "forward1", file: "f", line: 1, forwards: ["-L 10022:t:22"], state: "up", pid: 42 },
        { name: "db", file: "f", line: 5, forwards: ["-D 1080"], state: "stopped", pid: null },
      ]),
    ).toBe(
      "NAME      FORWARDS       BACKGROUND\nforward1  -L 10022:t:22  up (pid 42)\ndb        -D 1080        -\n",
    );
  });
});

describe("fwd ls", () => {
  let t: ReturnType<typeof tempDir>;
  let sleeper: ChildProcess | undefined;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => {
    killQuietly(sleeper);
    t.remove();
  });

  const cfg = () => {
    const path = join(t.dir, "config");
    writeFileSync(
      path,
      [
        "Host forward1",
        "  HostName bastion.example",
        "  LocalForward 10022 target-host:22",
        "Host plain",
        "  HostName other.example",
        "Host socks *.wild",
        "  DynamicForward 1080",
        "Host forward1",
        "  LocalForward 10023 ignored:22",
        "",
      ].join("\n"),
    );
    return path;
  };

  test("lists literal Hosts with forwards, once each, marking a running one", async () => {
    const path = cfg();
    sleeper = spawnSleeper();
    const files = daemonFiles(t.dir, "forward1");
    writeFileSync(
      files.lock,
      JSON.stringify({
        name: "forward1",
        pid: sleeper.pid,
        startTime: startTimeOf(sleeper.pid!),
        startedAt: "2026-11-27T06:00:00Z",
      }),
    );
    const c = testCtx(t.dir, { configFile: path, json: true });
    expect(await lsCommand(c.ctx)).toBe(0);
    const { hosts } = JSON.parse(c.out());
    expect(hosts).toEqual([
      {
        name: "forward1",
        file: path,
        line: 1,
        // ssh_config: every LocalForward of every matching block adds up.
        forwards: ["-L 10022:target-host:22", "-L 10023:ignored:22"],
        state: "connecting",
        pid: sleeper.pid,
      },
      { name: "socks", file: path, line: 6, forwards: ["-D 1080"], state: "stopped", pid: null },
    ]);
  });

  test("no Host with forwards: says so and how to add one", async () => {
    const path = join(t.dir, "empty");
    writeFileSync(path, "Host plain\n  HostName x\n");
    const c = testCtx(t.dir, { configFile: path });
    expect(await lsCommand(c.ctx)).toBe(0);
    expect(c.out()).toBe(`no Host with forwards in ${path} (add one with: fwd init)\n`);
  });

  test("a missing -F file is a config error (exit 2)", async () => {
    const c = testCtx(t.dir, { configFile: join(t.dir, "nope") });
    await expect(lsCommand(c.ctx)).rejects.toMatchObject({ exitCode: 2 });
  });
});
