/**
 * Standalone HTTP target for network namespaces:
 *   ip netns exec NS node_modules/.bin/bun test/helpers/http-target.ts PORT [HOST] [BODY]
 * Prints READY once listening; exits on SIGTERM.
 */
import { startHttpTarget, TARGET_BODY } from "./targets.ts";

const port = Number(process.argv[2] ?? 8080);
const host = process.argv[3] ?? "0.0.0.0";
const body = process.argv[4] ?? TARGET_BODY;
const target = await startHttpTarget({ host, port, body });
process.stdout.write(`READY ${target.port}\n`);
process.on("SIGTERM", () => void target.close().then(() => process.exit(0)));
