/**
 * The darwin binaries are cross-compiled on Linux, so nothing here can run
 * them. What can be checked is what macOS checks before running them: a
 * 64-bit Mach-O executable for the right CPU, with an embedded code signature
 * whose CodeDirectory page hashes match the bytes (Apple Silicon's kernel
 * SIGKILLs a binary whose hashes do not match; see docs/macos.md).
 * Skipped when dist/fwd-darwin-* were not built (`npm run build` builds them).
 */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const DIST = process.env.FWD_DIST_DIR ?? join(ROOT, "dist");

const MH_MAGIC_64 = 0xfeedfacf;
const MH_EXECUTE = 2;
const LC_CODE_SIGNATURE = 0x1d;
const CPU = { x64: 0x01000007, arm64: 0x0100000c } as const;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CS_ADHOC = 0x2;

interface MachO {
  magic: number;
  cputype: number;
  filetype: number;
  commands: number[];
  signature?: { offset: number; size: number };
}

/** mach-o/loader.h: mach_header_64 then ncmds load commands, little-endian. */
function parseMachO(b: Buffer): MachO {
  const ncmds = b.readUInt32LE(16);
  const commands: number[] = [];
  let signature: MachO["signature"];
  let off = 32;
  for (let i = 0; i < ncmds; i++) {
    const cmd = b.readUInt32LE(off);
    commands.push(cmd);
    if (cmd === LC_CODE_SIGNATURE) {
      signature = { offset: b.readUInt32LE(off + 8), size: b.readUInt32LE(off + 12) };
    }
    off += b.readUInt32LE(off + 4);
  }
  return {
    magic: b.readUInt32LE(0),
    cputype: b.readInt32LE(4) >>> 0,
    filetype: b.readUInt32LE(12),
    commands,
    signature,
  };
}

interface CodeDirectory {
  flags: number;
  identifier: string;
  codeLimit: number;
  pageSize: number;
  /** Indexes of code pages whose SHA-256 does not match the slot. */
  badPages: number[];
}

/** Security framework's cs_blobs.h: a big-endian SuperBlob holding a CodeDirectory. */
function codeDirectory(b: Buffer, sig: { offset: number; size: number }): CodeDirectory {
  const sb = b.subarray(sig.offset, sig.offset + sig.size);
  expect(sb.readUInt32BE(0)).toBe(CSMAGIC_EMBEDDED_SIGNATURE);
  const count = sb.readUInt32BE(8);
  for (let i = 0; i < count; i++) {
    const at = sb.readUInt32BE(16 + 8 * i);
    if (sb.readUInt32BE(at) !== CSMAGIC_CODEDIRECTORY) continue;
    const cd = sb.subarray(at);
    const flags = cd.readUInt32BE(12);
    const hashOffset = cd.readUInt32BE(16);
    const identOffset = cd.readUInt32BE(20);
    const nCodeSlots = cd.readUInt32BE(28);
    const codeLimit = cd.readUInt32BE(32);
    const hashSize = cd.readUInt8(36);
    const hashType = cd.readUInt8(37);
    const pageSize = 2 ** cd.readUInt8(39);
    expect(hashType).toBe(2); // SHA-256
    const badPages: number[] = [];
    for (let p = 0; p < nCodeSlots; p++) {
      const page = b.subarray(p * pageSize, Math.min((p + 1) * pageSize, codeLimit));
      const want = cd.subarray(hashOffset + p * hashSize, hashOffset + (p + 1) * hashSize);
      const got = createHash("sha256").update(page).digest().subarray(0, hashSize);
      if (!got.equals(want)) badPages.push(p);
    }
    const identifier = cd.toString("utf8", identOffset, cd.indexOf(0, identOffset));
    return { flags, identifier, codeLimit, pageSize, badPages };
  }
  throw new Error("no CodeDirectory in the signature");
}

const releaseWorkflow = () =>
  readFileSync(join(ROOT, ".github", "workflows", "release.yml"), "utf8");

for (const arch of ["arm64", "x64"] as const) {
  const file = join(DIST, `fwd-darwin-${arch}`);
  describe.skipIf(!existsSync(file))(`dist/fwd-darwin-${arch}`, () => {
    const b = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
    const m = b.length ? parseMachO(b) : undefined;

    test(`is a 64-bit Mach-O executable for ${arch}`, () => {
      expect(m!.magic).toBe(MH_MAGIC_64);
      expect(m!.cputype).toBe(CPU[arch]);
      expect(m!.filetype).toBe(MH_EXECUTE);
    });

    test("carries an embedded code signature (LC_CODE_SIGNATURE) inside the file", () => {
      expect(m!.commands).toContain(LC_CODE_SIGNATURE);
      const sig = m!.signature!;
      expect(sig.offset + sig.size).toBeLessThanOrEqual(b.length);
      expect(codeDirectory(b, sig).pageSize).toBe(4096);
    });

    if (arch === "arm64") {
      test("is ad-hoc signed with every page hash matching (Apple Silicon refuses otherwise)", () => {
        const cd = codeDirectory(b, m!.signature!);
        expect(cd.flags & CS_ADHOC).toBe(CS_ADHOC);
        // It covers every byte before the signature, and every page matches.
        expect(cd.codeLimit).toBe(m!.signature!.offset);
        expect(cd.badPages).toEqual([]);
      });
    } else {
      test("has matching page hashes, or the release re-signs it on macOS", () => {
        const cd = codeDirectory(b, m!.signature!);
        const valid = cd.codeLimit === m!.signature!.offset && cd.badPages.length === 0;
        if (!valid) {
          // Bun keeps the runtime's own signature on darwin-x64 and leaves it stale
          // (docs/macos.md); the release workflow replaces it with an ad-hoc one.
          expect(releaseWorkflow()).toContain("codesign --force --sign - fwd-darwin-x64");
          expect(releaseWorkflow()).toContain(
            "codesign --verify --strict --verbose=2 fwd-darwin-x64",
          );
        }
      });
    }
  });
}
