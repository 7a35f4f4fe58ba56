/**
 * Why authentication may have failed, from the client side: identity files
 * missing or too open (ssh refuses those), and what the agent holds.
 */
import { stat } from "node:fs/promises";
import type { HopPlan } from "../tunnel/plan.ts";
import { OpenSSHAgent } from "../tunnel/ssh2.ts";

function agentKeyCount(socket: string): Promise<number | string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("agent did not answer"), 3000);
    new OpenSSHAgent(socket).getIdentities((err, keys) => {
      clearTimeout(timer);
      resolve(err ? `agent not reachable (${err.message})` : (keys?.length ?? 0));
    });
  });
}

/** Lines of facts that help explain a refused login (no secrets, only paths and modes). */
export async function explainIdentities(
  hop: HopPlan,
  tried: string[],
  home: string,
): Promise<string[]> {
  const show = (p: string) => (p.startsWith(`${home}/`) ? `~${p.slice(home.length)}` : p);
  const lines: string[] = [];
  if (hop.agent) {
    const n = await agentKeyCount(hop.agent);
    lines.push(
      typeof n === "number" ? `agent ${show(hop.agent)} holds ${n} key${n === 1 ? "" : "s"}` : n,
    );
  } else lines.push("no agent (SSH_AUTH_SOCK unset or IdentityAgent none)");
  for (const path of hop.identityFiles) {
    try {
      const st = await stat(path);
      if (st.mode & 0o077) {
        const mode = (st.mode & 0o777).toString(8);
        lines.push(
          `${show(path)} is mode ${mode}: ssh refuses private keys others can read (chmod 600)`,
        );
      }
    } catch {}
  }
  if (tried.length === 0) lines.push("no identity was offered: set IdentityFile for this Host");
  return lines;
}
