/** The child end of the relay test: asks through fd 3 and prints what it got, one JSON line each. */
import { childRelay } from "../../src/daemon/relay.ts";

const relay = childRelay(process.env);
const say = (v: unknown) => process.stdout.write(`${JSON.stringify(v ?? null)}\n`);
if (!relay) {
  say("no relay");
} else {
  say(await relay.askPassphrase("/keys/a"));
  say(await relay.askPassphrase("/keys/a"));
  say(await relay.askHostKey({ host: "bastion", fingerprint: "SHA256:x", keyType: "ED25519" }));
  relay.close();
  say(await relay.askPassphrase("/keys/b"));
  say(await relay.askPassphrase("/keys/a"));
}
// The parent's end is still open (it would close it after the report): do not wait for it.
process.exit(0);
