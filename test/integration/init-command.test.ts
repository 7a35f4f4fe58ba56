import { afterEach, describe, expect, test } from "bun:test";
import {
  chownSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { initCommand } from "../../src/commands/init.ts";
import { FwdError } from "../../src/errors.ts";
import {
  baseFlags,
  fixture,
  hasSsh,
  type InitHome,
  initCtx,
  initHome,
  sshGValues,
} from "../helpers/init-home.ts";

let h: InitHome;
afterEach(() => h?.remove());

async function init(flags: Record<string, unknown>, over = {}) {
  const c = initCtx(h, over);
  try {
    const code = await initCommand(c.ctx, flags);
    return { code, out: c.out(), err: c.err() };
  } catch (e) {
    if (!(e instanceof FwdError)) throw e;
    return { code: e.exitCode, out: c.out(), err: `${e.message}\n${e.hint ?? ""}` };
  }
}

describe("fwd init writes the seed's two Hosts", () => {
  test.skipIf(!hasSsh)("ssh -G shows the intended values for forward1 and forward2", async () => {
    h = initHome();
    copyFileSync(fixture("realistic.conf"), h.config);
    expect((await init(baseFlags(h))).code).toBe(0);
    const f1 = sshGValues(h.config, "forward1");
    expect(f1.get("hostname")).toEqual(["bastion-host"]);
    expect(f1.get("user")).toEqual(["bastion_user"]);
    expect(f1.get("port")).toEqual(["2222"]);
    expect(f1.get("localforward")).toEqual(["[127.0.0.1]:10022 [target-host]:22"]);
    expect(f1.get("identitiesonly")).toEqual(["yes"]);
    expect(f1.get("exitonforwardfailure")).toEqual(["yes"]);
    const f2 = sshGValues(h.config, "forward2");
    expect(f2.get("hostname")).toEqual(["localhost"]);
    expect(f2.get("port")).toEqual(["10022"]);
    expect(f2.get("user")).toEqual(["target_user"]);
    expect(f2.get("hostkeyalias")).toEqual(["target-host"]);
  });

  test.skipIf(!hasSsh)(
    "a key path with a space is quoted so ssh reads it as one path",
    async () => {
      h = initHome();
      const key = join(h.home, "keys", "my key #1");
      writeFileSync(key, "k\n", { mode: 0o600 });
      expect((await init({ ...baseFlags(h), identity: key })).code).toBe(0);
      expect(readFileSync(h.config, "utf8")).toContain(`  IdentityFile "${key}"\n`);
      expect(sshGValues(h.config, "forward1").get("identityfile")).toEqual([key]);
    },
  );

  test("several forwards for one bastion, the seed's web example included", async () => {
    h = initHome();
    const r = await init({
      ...baseFlags(h),
      target: ["target-host:22", "target-host:8080"],
      local: undefined,
      print: true,
    });
    expect(r.out).toContain("LocalForward 127.0.0.1:10022 target-host:22\n");
    expect(r.out).toContain("LocalForward 127.0.0.1:18080 target-host:8080\n");
    const r2 = await init({
      ...baseFlags(h),
      target: undefined,
      local: undefined,
      forward: "18080:target-host:8080",
      print: true,
    });
    expect(r2.out).toContain("LocalForward 127.0.0.1:18080 target-host:8080\n");
  });

  test("a second identical run leaves the file byte-identical and says unchanged", async () => {
    h = initHome();
    copyFileSync(fixture("windows.conf"), h.config);
    await init(baseFlags(h));
    const once = readFileSync(h.config);
    const r = await init(baseFlags(h));
    expect(r.code).toBe(0);
    expect(r.err).toContain("unchanged");
    expect(readFileSync(h.config)).toEqual(once);
  });

  test.skipIf(!hasSsh)(
    "a file ssh already rejects (a BOM) gets a warning, not a refusal",
    async () => {
      h = initHome();
      copyFileSync(fixture("windows.conf"), h.config);
      const r = await init(baseFlags(h));
      expect(r.code).toBe(0);
      expect(r.err).toContain(`ssh already rejects ${h.config}`);
      expect(
        readFileSync(h.config, "latin1").startsWith(
          "\xef\xbb\xbfHostKeyAlgorithms +ssh-rsa\r\n\r\n# >>> fwd forward1 >>>\r\n",
        ),
      ).toBe(true);
    },
  );

  test("creates ~/.ssh 0700 and the config 0600 when missing", async () => {
    h = initHome({ withSshDir: false });
    expect((await init(baseFlags(h))).code).toBe(0);
    expect(statSync(h.sshDir).mode & 0o777).toBe(0o700);
    expect(statSync(h.config).mode & 0o777).toBe(0o600);
    expect(readdirSync(h.sshDir)).toEqual(["config"]);
  });

  test("keeps the file's mode, writes through a symlink, keeps one backup", async () => {
    h = initHome();
    mkdirSync(join(h.home, "dotfiles"));
    const real = join(h.home, "dotfiles/ssh_config");
    writeFileSync(real, "Host a\n  User x\n", { mode: 0o640 });
    symlinkSync("../dotfiles/ssh_config", h.config);
    const r = await init(baseFlags(h));
    expect(r.code).toBe(0);
    expect(lstatSync(h.config).isSymbolicLink()).toBe(true);
    expect(statSync(real).mode & 0o777).toBe(0o640);
    expect(readFileSync(real, "utf8")).toContain("# >>> fwd forward1 >>>");
    expect(readFileSync(`${real}.fwd.bak`, "utf8")).toBe("Host a\n  User x\n");
    expect(r.err).toContain(`backup: ${real}.fwd.bak`);
    await init({ ...baseFlags(h), alive: 60 });
    expect(readFileSync(`${real}.fwd.bak`, "utf8")).toContain("ServerAliveInterval 15");
  });

  test.skipIf(process.getuid?.() !== 0)(
    "keeps the file's owner and group (run as root)",
    async () => {
      h = initHome();
      writeFileSync(h.config, "Host a\n", { mode: 0o600 });
      chownSync(h.config, 65534, 65534);
      expect((await init(baseFlags(h))).code).toBe(0);
      const st = statSync(h.config);
      expect([st.uid, st.gid, st.mode & 0o777]).toEqual([65534, 65534, 0o600]);
      expect(statSync(`${h.config}.fwd.bak`).uid).toBe(65534);
    },
  );

  test("prints what was written and the next commands", async () => {
    h = initHome();
    const r = await init(baseFlags(h));
    expect(r.err).toContain(`wrote Host forward1, Host forward2 to ${h.config}`);
    for (const cmd of ["fwd run forward1", "ssh forward2", "fwd run forward1 -d"])
      expect(r.err).toContain(cmd);
  });

  test("-F FILE writes that file and names it in the next commands", async () => {
    h = initHome();
    const file = join(h.home, "alt.conf");
    const r = await init(baseFlags(h), { configFile: file });
    expect(readFileSync(file, "utf8")).toContain("Host forward1");
    expect(r.err).toContain(`ssh -F ${file} forward2`);
  });
});

describe("fwd init refuses without changing a byte", () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ["--print", { print: true }],
    ["a newline in --bastion", { bastion: "u@h\nProxyCommand touch /tmp/pwned" }],
    ["a bad --ssh-target", { sshTarget: "a b" }],
    ["--ssh-name equal to --name", { sshName: "forward1" }],
    ["--local count not matching --target", { local: ["1", "2"] }],
  ];
  test.each(cases)("%s", async (_what, over) => {
    h = initHome();
    copyFileSync(fixture("realistic.conf"), h.config);
    const before = readFileSync(h.config);
    const r = await init({ ...baseFlags(h), ...over });
    expect(r.code).toBe(over.print ? 0 : 2);
    expect(readFileSync(h.config)).toEqual(before);
    expect(readdirSync(h.sshDir)).toEqual(["config"]);
  });

  test("an unreadable config (a directory) fails with exit 1 and creates nothing", async () => {
    h = initHome();
    mkdirSync(h.config);
    const r = await init(baseFlags(h));
    expect(r.code).toBe(1);
    expect(r.err).toContain(h.config);
    expect(readdirSync(h.sshDir)).toEqual(["config"]);
  });

  test("--print prints only the snippet on stdout", async () => {
    h = initHome();
    const r = await init({ ...baseFlags(h), print: true });
    expect(r.out.startsWith("# >>> fwd forward1 >>>\n")).toBe(true);
    expect(r.out.endsWith("# <<< fwd forward2 <<<\n")).toBe(true);
    expect(r.err).toBe("");
  });

  test("no terminal and values missing: exit 2 naming the flags", async () => {
    h = initHome();
    const r = await init({ yes: true });
    expect(r.code).toBe(2);
    expect(r.err).toContain("--bastion");
    expect(r.err).toContain("--target");
    expect(r.err).toContain("--identity");
  });

  test.skipIf(!hasSsh)(
    "a global option that would override the block is named, nothing written",
    async () => {
      h = initHome();
      copyFileSync(fixture("globals-only.conf"), h.config);
      const before = readFileSync(h.config);
      const r = await init(baseFlags(h));
      expect(r.code).toBe(2);
      expect(r.err).toContain("user is root");
      expect(r.err).toContain("port is 2200");
      expect(readFileSync(h.config)).toEqual(before);
    },
  );

  test("a hand-written Host of the same name needs --force", async () => {
    h = initHome();
    copyFileSync(fixture("handwritten.conf"), h.config);
    const before = readFileSync(h.config);
    const r = await init(baseFlags(h));
    expect(r.code).toBe(2);
    expect(r.err).toContain("--force");
    expect(readFileSync(h.config)).toEqual(before);
    expect((await init({ ...baseFlags(h), force: true })).code).toBe(0);
    const after = readFileSync(h.config, "utf8");
    expect(after).not.toContain("handmade");
    expect(after).toContain("Host other\n  User x\n");
  });
});
