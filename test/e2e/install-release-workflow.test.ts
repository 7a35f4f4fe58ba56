/**
 * .github/workflows/release.yml: what install.sh relies on (tag trigger, the four
 * binaries + SHA256SUMS attached), checked structurally, and its `run:` scripts
 * shellchecked the way actionlint does. actionlint itself runs when installed.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const FILE = join(ROOT, ".github", "workflows", "release.yml");
const text = readFileSync(FILE, "utf8");

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  "runs-on": string;
  steps: Step[];
}
interface Workflow {
  name: string;
  on: { push: { tags: string[] } };
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}

const wf = Bun.YAML.parse(text) as Workflow;
const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
const runs = steps.flatMap((s) => (s.run ? [s.run] : []));

/** Contexts a workflow expression may read (docs: "Contexts"). */
const CONTEXTS = /^(github|env|vars|job|jobs|steps|runner|secrets|strategy|matrix|needs|inputs)\./;

describe("release workflow", () => {
  test("runs on version tags only", () => {
    expect(wf.on).toEqual({ push: { tags: ["v*"] } });
  });

  test("may write releases and nothing else", () => {
    expect(wf.permissions).toEqual({ contents: "write" });
  });

  test("every job has a runner and steps that either use an action or run a script", () => {
    for (const job of Object.values(wf.jobs)) {
      expect(typeof job["runs-on"]).toBe("string");
      expect(job.steps.length).toBeGreaterThan(0);
      for (const s of job.steps) {
        expect(Boolean(s.uses) !== Boolean(s.run)).toBe(true);
        if (s.uses) expect(s.uses).toMatch(/^[\w.-]+\/[\w.-]+@v?\d+/);
      }
    }
  });

  test("sets up node, installs with npm ci and builds with npm run build", () => {
    expect(steps.some((s) => s.uses?.startsWith("actions/setup-node@"))).toBe(true);
    const ci = runs.findIndex((r) => /^npm ci\b/m.test(r));
    const build = runs.findIndex((r) => /^npm run build\b/m.test(r));
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(build).toBeGreaterThan(ci);
  });

  test("re-signs the darwin binaries on a Mac, then recomputes SHA256SUMS, then uploads", () => {
    const mac = Object.values(wf.jobs).find((j) => j["runs-on"].startsWith("macos"));
    expect(mac).toBeDefined();
    const script = mac!.steps.flatMap((s) => (s.run ? [s.run] : [])).join("\n");
    const at = (re: RegExp) => script.search(re);
    for (const arch of ["arm64", "x64"]) {
      expect(script).toContain(`codesign --force --sign - fwd-darwin-${arch}`);
      expect(script).toContain(`codesign --verify --strict --verbose=2 fwd-darwin-${arch}`);
    }
    expect(at(/codesign --force/)).toBeLessThan(at(/shasum -a 256 fwd-\* > SHA256SUMS/));
    expect(at(/shasum -a 256 fwd-\* > SHA256SUMS/)).toBeLessThan(at(/gh release/));
  });

  test("verifies SHA256SUMS and attaches the binaries, SHA256SUMS and install.sh", () => {
    expect(runs.some((r) => r.includes("sha256sum -c SHA256SUMS"))).toBe(true);
    const upload = runs.find((r) => r.includes("gh release"));
    expect(upload).toBeDefined();
    for (const asset of ["dist/fwd-*", "dist/SHA256SUMS", "install.sh"]) {
      expect(upload).toContain(asset);
    }
  });

  test("expressions read known contexts, and never inside a script (no injection)", () => {
    const exprs = [...text.matchAll(/\$\{\{\s*([^}]*?)\s*\}\}/g)].map((m) => m[1]!);
    expect(exprs.length).toBeGreaterThan(0);
    for (const e of exprs) expect(e).toMatch(CONTEXTS);
    for (const r of runs) expect(r).not.toContain("${{");
  });

  const shellcheck = Bun.which("shellcheck");
  test.skipIf(!shellcheck)("run: scripts are shellcheck-clean (bash, as on the runner)", () => {
    const dir = mkdtempSync(join(tmpdir(), "fwd-wf-"));
    try {
      runs.forEach((r, i) => {
        const file = join(dir, `step${i}.sh`);
        // GitHub runs `bash -e {0}`; the step's env: vars are assigned by the runner.
        writeFileSync(file, `#!/bin/bash\nset -e\nTAG=\${TAG:?}\n${r}`);
        const p = Bun.spawnSync([shellcheck!, "-x", file], { stdout: "pipe" });
        expect(p.stdout.toString()).toBe("");
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const actionlint = Bun.which("actionlint");
  test.skipIf(!actionlint)("passes actionlint", () => {
    const p = Bun.spawnSync([actionlint!, FILE], { stdout: "pipe", stderr: "pipe" });
    expect(p.stdout.toString() + p.stderr.toString()).toBe("");
    expect(p.exitCode).toBe(0);
  });
});
