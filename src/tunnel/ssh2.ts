/**
 * The parts of ssh2 that `fwd run` and `fwd check` use, loaded from their own
 * files. ssh2's entry (lib/index.js) also loads its HTTP(S) agents (node:http,
 * node:https, node:tls), its server and its key generator: several ms of
 * start-up on every connection that fwd never uses (issue 12, setup latency).
 * Types still come from @types/ssh2.
 */
import type * as ssh2 from "ssh2";
// @ts-expect-error ssh2's files have no types of their own (see above).
import agentFile from "ssh2/lib/agent.js";
// @ts-expect-error
import clientFile from "ssh2/lib/client.js";
// @ts-expect-error
import keyParserFile from "ssh2/lib/protocol/keyParser.js";
import { mendPrivatePem } from "./keypem.ts";

export const Client = clientFile as typeof ssh2.Client;
export type Client = ssh2.Client;
export const OpenSSHAgent = (agentFile as typeof ssh2).OpenSSHAgent;
export type OpenSSHAgent = ssh2.OpenSSHAgent;
const parseRaw = (keyParserFile as typeof ssh2.utils).parseKey;
/** ssh2's parseKey, with private keys in a PEM Deno can read too (keypem.ts). */
export const parseKey: typeof ssh2.utils.parseKey = (data, passphrase) => {
  const parsed = parseRaw(data, passphrase);
  for (const k of Array.isArray(parsed) ? parsed : [parsed]) {
    if (!(k instanceof Error)) mendPrivatePem(k);
  }
  return parsed;
};
