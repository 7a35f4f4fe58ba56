/**
 * The interactive half of `fwd init` (issue 9): asks only for what the flags
 * did not give, validating each answer with the same rules as the flags
 * (validate.ts) and re-asking with the reason. It only collects values; the
 * caller validates them again, shows the diff and writes.
 */
import type { InitFlags } from "../commands/init-flags.ts";
import { isFwdError } from "../errors.ts";
import {
  parseBastion,
  parseLocal,
  parseTarget,
  secondName,
  validateIdentity,
  validateName,
  validateUser,
} from "../sshconfig/validate.ts";
import { type Check, cancelled, type Prompter } from "./prompts.ts";

export interface WizardDeps {
  prompter: Prompter;
  /** The local user (ssh's default User). */
  user: string;
  home: string;
  cwd: string;
  /** Hosts already in ssh_config, offered as the bastion: name and user@host:port. */
  knownHosts: Array<{ name: string; target: string }>;
  /** Private keys found in ~/.ssh, as `~/.ssh/NAME`. */
  keys: string[];
  /** The agent's keys (shown as `agent: ED25519 SHA256:… comment`); empty without an agent. */
  agentKeys?: AgentKeyChoice[];
  /** Host names written by hand (fwd's own blocks excluded: re-running replaces them). */
  takenNames: string[];
  portFree: (port: number) => Promise<boolean>;
  /** `fwd check` on the values so far: true when the route works. */
  checkRoute?: (flags: InitFlags) => Promise<boolean>;
  /** Connects to the bastion alone (host key, login): true when it works. */
  checkBastion?: (flags: InitFlags) => Promise<boolean>;
}

/** An agent key the identity step offers. */
export interface AgentKeyChoice {
  label: string;
  /**
   * The IdentityFile for it: the key file in ~/.ssh with the same public key,
   * else a public key file written for it. Throws FwdError when it cannot.
   */
  file: () => Promise<string>;
}

/** A validator from a throwing parser: the FwdError's message without its "--flag: " prefix. */
function check(parse: (v: string) => unknown): Check {
  return (v) => {
    try {
      parse(v.trim());
      return undefined;
    } catch (e) {
      if (isFwdError(e)) return e.message.replace(/^--[a-z-]+: /, "");
      throw e;
    }
  };
}

const OTHER = "\u0000other";
const AGENT = "\u0000agent";

async function askBastion(d: WizardDeps): Promise<string> {
  const p = d.prompter;
  if (d.knownHosts.length > 0) {
    const picked = await p.select({
      message: "Bastion (the host you can reach that can reach the target)",
      options: [
        ...d.knownHosts.map((h) => ({ value: h.target, label: h.target, hint: `Host ${h.name}` })),
        { value: OTHER, label: "another one…" },
      ],
    });
    if (picked !== OTHER) return picked;
  }
  return (
    await p.text({
      message: "Bastion as user@host[:port]",
      placeholder: `${d.user}@bastion.example.com`,
      validate: check((v) => parseBastion(v, d.user)),
    })
  ).trim();
}

async function askIdentity(d: WizardDeps): Promise<string> {
  const p = d.prompter;
  const agent = d.agentKeys ?? [];
  const validIdentity = check((v) => validateIdentity(v, d.home, d.cwd));
  while (d.keys.length + agent.length > 0) {
    const picked = await p.select({
      message: "Private key for the bastion",
      options: [
        ...d.keys.map((k) => ({ value: k, label: k })),
        ...agent.map((a, i) => ({ value: `${AGENT}${i}`, label: a.label })),
        { value: OTHER, label: "another file…" },
      ],
    });
    if (picked === OTHER) break;
    const a = picked.startsWith(AGENT) ? agent[Number(picked.slice(AGENT.length))] : undefined;
    if (!a) return picked;
    let file: string;
    try {
      file = await a.file();
    } catch (e) {
      if (!isFwdError(e)) throw e;
      p.info(e.message);
      continue;
    }
    const bad = validIdentity(file);
    if (!bad) {
      p.info(`IdentityFile ${file} (the agent holds its private key)`);
      return file;
    }
    p.info(bad);
  }
  return (
    await p.text({
      message: "Path of the private key",
      placeholder: "~/.ssh/id_ed25519",
      validate: validIdentity,
    })
  ).trim();
}

async function askForward(
  d: WizardDeps,
  used: Set<number>,
): Promise<{ target: string; local: string }> {
  const p = d.prompter;
  const target = (
    await p.text({
      message: "Target as host:port, as the bastion sees it",
      placeholder: "target-host:22",
      validate: check(parseTarget),
    })
  ).trim();
  let suggestion = parseTarget(target).port + 10000;
  while (suggestion <= 65535 && (used.has(suggestion) || !(await d.portFree(suggestion))))
    suggestion++;
  for (;;) {
    const local = (
      await p.text({
        message: `Local port for ${target}`,
        ...(suggestion <= 65535 ? { initial: String(suggestion) } : {}),
        validate: check(parseLocal),
      })
    ).trim();
    const port = parseLocal(local).port;
    if (used.has(port)) p.info(`port ${port} is already used by another forward; pick another`);
    else if (!(await d.portFree(port)))
      p.info(`something already listens on port ${port}; pick another`);
    else {
      used.add(port);
      return { target, local };
    }
  }
}

async function askName(
  d: WizardDeps,
  message: string,
  initial: string,
  other?: string,
): Promise<string> {
  const taken = new Set(d.takenNames.map((n) => n.toLowerCase()));
  let suggestion = initial;
  while (taken.has(suggestion.toLowerCase()) || suggestion === other)
    suggestion = secondName(suggestion);
  return (
    await d.prompter.text({
      message,
      initial: suggestion,
      validate: (v) => {
        const bad = check((x) => validateName("--name", x))(v);
        if (bad) return bad;
        if (taken.has(v.trim().toLowerCase()))
          return `Host ${v.trim()} already exists in your config`;
        if (v.trim() === other) return "the two Hosts need different names";
        return undefined;
      },
    })
  ).trim();
}

/** Fills in what `f` lacks, asking in the order of the flow; returns the completed flags. */
export async function runWizard(f0: InitFlags, d: WizardDeps): Promise<InitFlags> {
  const f: InitFlags = { ...f0, target: [...f0.target], local: [...f0.local] };
  const p = d.prompter;
  const askForwards = f.target.length === 0 && f.forward.length === 0;
  for (;;) {
    const bastionAsked = f.bastion === undefined || f.identity === undefined;
    if (f.bastion === undefined) f.bastion = await askBastion(d);
    if (f.identity === undefined) f.identity = await askIdentity(d);
    if (bastionAsked && d.checkBastion) {
      p.info(`Connecting to ${f.bastion}…`);
      if (!(await d.checkBastion(f))) {
        const next = await p.select({
          message: "The bastion does not work yet. What now?",
          options: [
            { value: "retry", label: "change the bastion and key" },
            { value: "go", label: "go on anyway" },
            { value: "quit", label: "quit without writing" },
          ],
        });
        if (next === "quit") throw cancelled();
        if (next === "retry") {
          [f.bastion, f.identity] = [f0.bastion, f0.identity];
          continue;
        }
      }
    }
    if (askForwards && f.target.length === 0) {
      const used = new Set<number>();
      do {
        const fw = await askForward(d, used);
        f.target.push(fw.target);
        f.local.push(fw.local);
      } while (
        await p.confirm({ message: "Forward another port through this bastion?", initial: false })
      );
    }
    if (!d.checkRoute) break;
    p.info("Checking the route: bastion, host key, login, target…");
    if (await d.checkRoute(f)) break;
    const next = await p.select({
      message: "The route does not work yet. What now?",
      options: [
        ...(f0.bastion === undefined
          ? [{ value: "bastion", label: "change the bastion and key" }]
          : []),
        ...(askForwards ? [{ value: "target", label: "change the target(s)" }] : []),
        { value: "write", label: "write the config anyway" },
        { value: "quit", label: "quit without writing" },
      ],
    });
    if (next === "quit") throw cancelled();
    if (next === "write") break;
    if (next === "bastion") [f.bastion, f.identity] = [undefined, f0.identity];
    if (next === "target") [f.target, f.local] = [[], []];
  }
  const first = parseTarget(f.target[0] ?? "x:22");
  if (f.sshTarget === undefined && f.target.length > 0) {
    const want = await p.confirm({
      message: `Also create a Host to ssh to ${f.target[0]} through the forward?`,
      initial: first.port === 22,
    });
    if (want) {
      f.sshTarget = (
        await p.text({
          message: `User on ${first.host}`,
          initial: parseBastion(f.bastion ?? "", d.user).user,
          validate: check((v) => validateUser("--ssh-target", v)),
        })
      ).trim();
    }
  }
  if (f.name === undefined)
    f.name = await askName(d, "Name of the Host for the forward", "forward1");
  if (f.sshTarget !== undefined && f.sshName === undefined) {
    f.sshName = await askName(
      d,
      `Name of the Host for ssh to ${first.host}`,
      secondName(f.name),
      f.name,
    );
  }
  return f;
}
