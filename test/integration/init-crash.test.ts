/** A crash or a failure at any point of a write leaves the old file or the new one, never a mix. */
import { afterEach, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { updateFile } from "../../src/sshconfig/write.ts";
import { fixture, fwd, type InitHome, initHome, root } from "../helpers/init-home.ts";

let h: InitHome;
afterEach(() => h?.remove());

const NEW = Buffer.from("Host new\n");

async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const initArgs = (h: InitHome) => [
  "init",
  "--bastion",
  "u@bastion-host",
  "--identity",
  join(h.home, "keys/id_test"),
  "--target",
  "target-host:22",
  "--yes",
];

describe("injected failures between the temp write and the rename", () => {
  test.each([
    ["beforeRename", { hooks: { beforeRename: () => Promise.reject(new Error("disk on fire")) } }],
    ["verify", { verify: () => Promise.reject(new Error("ssh says no")) }],
  ])(
    "a failure in %s leaves the original, no temp file, no backup and no lock",
    async (_what, over) => {
      h = initHome();
      copyFileSync(fixture("realistic.conf"), h.config);
      const before = readFileSync(h.config);
      await expect(updateFile({ path: h.config, transform: () => NEW, ...over })).rejects.toThrow();
      expect(readFileSync(h.config)).toEqual(before);
      expect(readdirSync(h.sshDir)).toEqual(["config"]);
    },
  );

  test("concurrent writers are serialised by the lock: no update is lost", async () => {
    h = initHome();
    copyFileSync(fixture("realistic.conf"), h.config);
    const append = (line: string) => (cur: Buffer | undefined) =>
      Buffer.concat([cur ?? Buffer.alloc(0), Buffer.from(line)]);
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        updateFile({
          path: h.config,
          transform: append(`# ${i}\n`),
          verify: () => new Promise((r) => setTimeout(r, 5)),
        }),
      ),
    );
    const text = readFileSync(h.config, "utf8");
    for (let i = 0; i < 8; i++) expect(text).toContain(`# ${i}\n`);
  });
});

describe("concurrent fwd init runs", () => {
  test("two runs for different names at once both land; neither is lost", async () => {
    h = initHome();
    copyFileSync(fixture("realistic.conf"), h.config);
    const run = (name: string, local: string) =>
      new Promise<number | null>((resolve) => {
        const c = spawn(
          process.execPath,
          [join(root, "src/main.ts"), ...initArgs(h), "--name", name, "--local", local],
          {
            env: h.env,
            stdio: "ignore",
          },
        );
        c.once("exit", resolve);
      });
    expect(await Promise.all([run("one", "10001"), run("two", "10002")])).toEqual([0, 0]);
    const text = readFileSync(h.config, "utf8");
    expect(text).toContain("# >>> fwd one >>>");
    expect(text).toContain("# >>> fwd two >>>");
    expect(text).toContain(readFileSync(fixture("realistic.conf"), "utf8").split("\n# Work")[1]!);
  });
});

describe("killing fwd init mid-write", () => {
  test("SIGKILL right before the rename leaves the original; the next run recovers", async () => {
    h = initHome();
    copyFileSync(fixture("realistic.conf"), h.config);
    const before = readFileSync(h.config);
    const marker = join(h.home, "paused");
    const child = spawn(process.execPath, [join(root, "src/main.ts"), ...initArgs(h)], {
      env: { ...h.env, FWD_TEST_PAUSE_BEFORE_RENAME: marker },
      stdio: "ignore",
    });
    const exited = new Promise((r) => child.once("exit", r));
    try {
      await until(() => existsSync(marker));
      const temp = readFileSync(marker, "utf8");
      expect(existsSync(temp)).toBe(true);
      expect(readFileSync(temp, "utf8")).toContain("# >>> fwd forward1 >>>");
    } finally {
      child.kill("SIGKILL");
    }
    await exited;
    expect(readFileSync(h.config)).toEqual(before);
    expect(existsSync(`${h.config}.fwd.lock`)).toBe(true);

    const r = fwd(initArgs(h), h.env);
    expect(r.code).toBe(0);
    expect(readFileSync(h.config, "utf8")).toContain("# >>> fwd forward1 >>>");
    expect(readFileSync(`${h.config}.fwd.bak`)).toEqual(before);
    expect(readdirSync(h.sshDir).sort()).toEqual(["config", "config.fwd.bak"]);
  });

  test("SIGKILL at random moments: the file is always the old or the new one", async () => {
    h = initHome();
    copyFileSync(fixture("realistic.conf"), h.config);
    const before = readFileSync(h.config);
    const clean = fwd(initArgs(h), h.env);
    expect(clean.code).toBe(0);
    const after = readFileSync(h.config);
    for (let i = 0; i < 12; i++) {
      copyFileSync(fixture("realistic.conf"), h.config);
      const child = spawn(process.execPath, [join(root, "src/main.ts"), ...initArgs(h)], {
        env: h.env,
        stdio: "ignore",
      });
      const exited = new Promise((r) => child.once("exit", r));
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 200));
      child.kill("SIGKILL");
      await exited;
      const now = readFileSync(h.config);
      expect(now.equals(before) || now.equals(after)).toBe(true);
    }
  }, 60_000);
});
