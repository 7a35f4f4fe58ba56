import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openLogFile } from "../../src/daemon/logfile.ts";
import {
  type DaemonState,
  daemonFiles,
  ensureStateDir,
  fileStem,
  knownNames,
  listenPorts,
  readState,
  stateFrom,
  writeState,
} from "../../src/daemon/state.ts";
import { tempDir } from "../helpers/daemon-ctx.ts";

const mode = (p: string) => statSync(p).mode & 0o777;

describe("fileStem: any Host alias becomes one safe file name", () => {
  test.each([
    ["forward1", "forward1"],
    ["db.prod-2", "db.prod-2"],
    ["user@host", "user@host"],
    ["a/b", "a%2Fb"],
    ["..", "%2E."],
    [".hidden", "%2Ehidden"],
    ["50%", "50%25"],
    ["sp ace", "sp%20ace"],
    ["é", "%C3%A9"],
  ])("%s -> %s", (name, stem) => {
    expect(fileStem(name)).toBe(stem);
  });

  test("different names never share files", () => {
    expect(fileStem("a/b")).not.toBe(fileStem("a%2Fb"));
  });
});

const fwd = (port: number | undefined, kind: "local" | "remote" | "dynamic" = "local") => ({
  description: `127.0.0.1:${port} -> target:22`,
  kind,
  port,
  connections: 0,
  bytesIn: 0,
  bytesOut: 0,
});

describe("state files", () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.remove());

  test("listenPorts: local and dynamic ports, not remote, no duplicates", () => {
    expect(
      listenPorts([
        fwd(10022),
        fwd(1080, "dynamic"),
        fwd(8080, "remote"),
        fwd(10022),
        fwd(undefined),
      ]),
    ).toEqual([10022, 1080]);
  });

  test("ensureStateDir creates the dir 0700 and leaves an existing one alone", () => {
    const dir = join(t.dir, "x", "fwd");
    ensureStateDir(dir);
    expect(mode(dir)).toBe(0o700);
    const mine = join(t.dir, "mine");
    mkdirSync(mine, { mode: 0o755 });
    ensureStateDir(mine);
    expect(mode(mine)).toBe(0o755);
  });

  test("a written state reads back, the file is 0600 and no temp file is left", () => {
    const files = daemonFiles(t.dir, "forward1");
    const state: DaemonState = stateFrom(
      {
        name: "forward1",
        pid: 1234,
        startTime: "linux:99",
        startedAt: "2026-11-27T06:00:00.000Z",
        configFile: null,
        logFile: files.log,
      },
      {
        name: "forward1",
        state: "up",
        since: "2026-11-27T06:00:01.000Z",
        reconnects: 2,
        lastError: undefined,
        via: "me@bastion:22",
        forwards: [fwd(10022)],
      },
    );
    writeState(files.state, state);
    expect(readState(files.state)).toEqual(state);
    expect(state.ports).toEqual([10022]);
    expect(state.lastError).toBeNull();
    expect(mode(files.state)).toBe(0o600);
    expect(readdirSync(t.dir)).toEqual(["forward1.state.json"]);
  });

  test.each([
    ["not JSON", "{"],
    ["no pid", JSON.stringify({ name: "x", state: "up" })],
    ["unknown state", JSON.stringify({ name: "x", pid: 1, state: "exploded" })],
    ["an array", "[]"],
  ])("readState ignores a file that is %s", (_l, text) => {
    const p = join(t.dir, "x.state.json");
    writeFileSync(p, text);
    expect(readState(p)).toBeUndefined();
  });

  test("readState of a missing file is undefined", () => {
    expect(readState(join(t.dir, "nope.state.json"))).toBeUndefined();
  });

  test("knownNames: names from lock and state contents, sorted, once each", () => {
    writeFileSync(join(t.dir, "b.lock"), JSON.stringify({ name: "b", pid: 1 }));
    writeFileSync(join(t.dir, "b.state.json"), JSON.stringify({ name: "b", pid: 1, state: "up" }));
    writeFileSync(join(t.dir, "a%2Fx.lock"), JSON.stringify({ name: "a/x", pid: 1 }));
    writeFileSync(join(t.dir, "c.log"), "log");
    writeFileSync(join(t.dir, "junk.lock"), "not json");
    expect(knownNames(t.dir)).toEqual(["a/x", "b"]);
    expect(knownNames(join(t.dir, "missing"))).toEqual([]);
  });
});

describe("log file", () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.remove());

  test("lines carry an ISO timestamp, the file is 0600", () => {
    const path = join(t.dir, "f.log");
    const log = openLogFile(path, { now: () => new Date("2026-11-27T06:00:00.000Z") });
    log.write("hello");
    expect(Bun.file(path).size).toBeGreaterThan(0);
    expect(readFileSync(path, "utf8")).toBe("2026-11-27T06:00:00.000Z hello\n");
    expect(mode(path)).toBe(0o600);
  });

  test("a logged value cannot forge a line or an escape sequence", () => {
    const path = join(t.dir, "f.log");
    openLogFile(path, { now: () => new Date(0) }).write("a\nFAKE\x1b[31m");
    const text = readFileSync(path, "utf8");
    expect(text.split("\n").length).toBe(2);
    expect(text).not.toContain("\x1b");
  });

  test("rotates past maxBytes, keeping one .1", () => {
    const path = join(t.dir, "f.log");
    const log = openLogFile(path, { maxBytes: 200 });
    for (let i = 0; i < 30; i++) log.write(`line ${i} ${"x".repeat(20)}`);
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(statSync(path).size).toBeLessThanOrEqual(200);
    expect(statSync(`${path}.1`).size).toBeLessThanOrEqual(200);
    expect(readdirSync(t.dir).sort()).toEqual(["f.log", "f.log.1"]);
    expect(mode(path)).toBe(0o600);
    expect(readFileSync(path, "utf8")).toContain("line 29");
  });
});
