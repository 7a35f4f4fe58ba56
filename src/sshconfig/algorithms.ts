/**
 * Algorithm lists (Ciphers, MACs, KexAlgorithms, *Algorithms): validation as
 * readconf.c does it when reading, and kex.c kex_assemble_names() for what
 * ssh -G prints (`+` append, `-` remove, `^` prepend, patterns). The name
 * lists are those of OpenSSH 9.2p1 on Debian 12 (`ssh -Q cipher|mac|kex|key-sig|sig`).
 */
import type { Args } from "./line.ts";
import { LineError } from "./line.ts";
import { matchPatternList } from "./match.ts";

const split = (s: string) => s.split(" ");

const CIPHERS = split(
  "3des-cbc aes128-cbc aes192-cbc aes256-cbc aes128-ctr aes192-ctr aes256-ctr aes128-gcm@openssh.com aes256-gcm@openssh.com chacha20-poly1305@openssh.com",
);
const MACS = split(
  "hmac-sha1 hmac-sha1-96 hmac-sha2-256 hmac-sha2-512 hmac-md5 hmac-md5-96 umac-64@openssh.com umac-128@openssh.com hmac-sha1-etm@openssh.com hmac-sha1-96-etm@openssh.com hmac-sha2-256-etm@openssh.com hmac-sha2-512-etm@openssh.com hmac-md5-etm@openssh.com hmac-md5-96-etm@openssh.com umac-64-etm@openssh.com umac-128-etm@openssh.com",
);
const KEX = split(
  "diffie-hellman-group1-sha1 diffie-hellman-group14-sha1 diffie-hellman-group14-sha256 diffie-hellman-group16-sha512 diffie-hellman-group18-sha512 diffie-hellman-group-exchange-sha1 diffie-hellman-group-exchange-sha256 ecdh-sha2-nistp256 ecdh-sha2-nistp384 ecdh-sha2-nistp521 curve25519-sha256 curve25519-sha256@libssh.org sntrup761x25519-sha512 sntrup761x25519-sha512@openssh.com",
);
const KEYS = split(
  "ssh-ed25519 ssh-ed25519-cert-v01@openssh.com sk-ssh-ed25519@openssh.com sk-ssh-ed25519-cert-v01@openssh.com ecdsa-sha2-nistp256 ecdsa-sha2-nistp256-cert-v01@openssh.com ecdsa-sha2-nistp384 ecdsa-sha2-nistp384-cert-v01@openssh.com ecdsa-sha2-nistp521 ecdsa-sha2-nistp521-cert-v01@openssh.com sk-ecdsa-sha2-nistp256@openssh.com sk-ecdsa-sha2-nistp256-cert-v01@openssh.com webauthn-sk-ecdsa-sha2-nistp256@openssh.com ssh-dss ssh-dss-cert-v01@openssh.com ssh-rsa ssh-rsa-cert-v01@openssh.com rsa-sha2-256 rsa-sha2-256-cert-v01@openssh.com rsa-sha2-512 rsa-sha2-512-cert-v01@openssh.com",
);
const SIGS = split(
  "ssh-ed25519 sk-ssh-ed25519@openssh.com ecdsa-sha2-nistp256 ecdsa-sha2-nistp384 ecdsa-sha2-nistp521 sk-ecdsa-sha2-nistp256@openssh.com webauthn-sk-ecdsa-sha2-nistp256@openssh.com ssh-dss ssh-rsa rsa-sha2-256 rsa-sha2-512",
);
const GSS_KEX = split(
  "gss-gex-sha1- gss-group1-sha1- gss-group14-sha1- gss-group14-sha256- gss-group16-sha512- gss-nistp256-sha256- gss-curve25519-sha256-",
);

const DEF_KEYS =
  "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256";

interface Family {
  all: string[];
  def: string;
  /** Patterns are allowed when checking (sshkey_names_valid2(.., 1)); exact names otherwise. */
  wildcard: boolean;
  bad: string;
}

export const ALGORITHMS: Record<string, Family> = {
  ciphers: {
    all: CIPHERS,
    def: "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
    wildcard: false,
    bad: "Bad SSH2 cipher spec",
  },
  macs: {
    all: MACS,
    def: "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
    wildcard: false,
    bad: "Bad SSH2 MAC spec",
  },
  kexalgorithms: {
    all: KEX,
    def: "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256",
    wildcard: false,
    bad: "Bad SSH2 KexAlgorithms",
  },
  hostkeyalgorithms: { all: KEYS, def: DEF_KEYS, wildcard: true, bad: "Bad key types" },
  hostbasedacceptedalgorithms: { all: KEYS, def: DEF_KEYS, wildcard: true, bad: "Bad key types" },
  pubkeyacceptedalgorithms: { all: KEYS, def: DEF_KEYS, wildcard: true, bad: "Bad key types" },
  casignaturealgorithms: {
    all: SIGS,
    def: "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256",
    wildcard: true,
    bad: "Bad key types",
  },
  gssapikexalgorithms: {
    all: GSS_KEX,
    def: "gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-",
    wildcard: false,
    bad: "Bad GSSAPI KexAlgorithms",
  },
};

/** Items up to the first empty one, as the strsep loops in ssh stop there. */
function items(names: string): string[] {
  const out: string[] = [];
  for (const p of names.split(",")) {
    if (p === "") break;
    out.push(p);
  }
  return out;
}

function valid(f: Family, names: string): boolean {
  if (names === "") return false;
  const keyAll = f.wildcard ? KEYS : f.all;
  return items(names).every(
    (p) =>
      keyAll.includes(p) || (f.wildcard && keyAll.some((k) => matchPatternList(k, p, false) !== 0)),
  );
}

/** Validates an algorithm option's argument (consumed from args); false when op is no algorithm list. */
export function checkAlgorithms(op: string, args: Args): boolean {
  const f = ALGORITHMS[op];
  if (!f) return false;
  const arg = args.next();
  if (arg === undefined || arg === "") throw new LineError("Missing argument.");
  const body = "+^".includes(arg[0] as string) ? arg.slice(1) : arg;
  if (arg[0] !== "-" && !valid(f, body)) throw new LineError(`${f.bad} '${arg}'.`);
  return true;
}

/** kex.c kex_names_cat(): a then b's names not already in a. */
function cat(a: string, b: string): string {
  if (a === "") return b;
  if (b === "") return a;
  const out = a.split(",");
  for (const p of items(b)) if (!out.includes(p)) out.push(p);
  return out.join(",");
}

/** kex.c kex_assemble_names(): the list ssh uses, or undefined when nothing is left (ssh fails). */
export function assemble(op: string, list: string | undefined): string | undefined {
  const f = ALGORITHMS[op];
  if (!f) return list;
  if (list === undefined || list === "") return f.def;
  if (list[0] === "-") {
    return f.def
      .split(",")
      .filter((n) => matchPatternList(n, list.slice(1), false) !== 1)
      .join(",");
  }
  const full =
    list[0] === "+"
      ? cat(f.def, list.slice(1))
      : list[0] === "^"
        ? cat(list.slice(1), f.def)
        : list;
  let ret = "";
  for (const cp of full.split(",")) {
    if (cp.startsWith("!")) return undefined;
    const matching = f.all.filter((n) => matchPatternList(n, cp, false) === 1).join(",");
    ret = cat(ret, matching);
  }
  return ret === "" ? undefined : ret;
}
