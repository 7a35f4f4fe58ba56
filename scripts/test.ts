/**
 * `npm test`: builds the host's compiled binary (the e2e tier drives it), runs
 * every tier with `bun test`, and ends with the one summary line CI reads:
 * "N passed, N failed[, N skipped]".
 */
import { spawn } from "node:child_process";

const args = process.argv.slice(2);
const paths = args.length > 0 ? args : ["test/"];

function run(cmd: string[], tee: boolean): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const onData = (stream: NodeJS.WriteStream) => (b: Buffer) => {
      out += b.toString();
      if (tee) stream.write(b);
    };
    child.stdout.on("data", onData(process.stdout));
    child.stderr.on("data", onData(process.stderr));
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

const bun = process.execPath;
if (!process.env.FWD_SKIP_BUILD) {
  const built = await run([bun, "scripts/build.ts", "--host"], true);
  if (built.code !== 0) {
    console.log("0 passed, 1 failed");
    process.exit(1);
  }
}

const { code, out } = await run([bun, "test", "--timeout", "120000", ...paths], true);
const count = (word: string) =>
  Number(out.match(new RegExp(`^\\s*(\\d+) ${word}$`, "m"))?.[1] ?? 0);
const passed = count("pass");
const failed = count("fail") + (code !== 0 && count("fail") === 0 ? 1 : 0);
const skipped = count("skip") + count("todo");
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(code !== 0 || passed === 0 ? 1 : 0);
