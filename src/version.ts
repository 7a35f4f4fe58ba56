import pkg from "../package.json" with { type: "json" };

/** Injected by scripts/build.ts with --define; absent when run from source. */
declare const FWD_BUILD: { commit: string; date: string; target: string; bun: string } | undefined;

export interface VersionInfo {
  version: string;
  commit: string;
  date: string;
  target: string;
  runtime: string;
}

export function versionInfo(): VersionInfo {
  const build = typeof FWD_BUILD === "undefined" ? undefined : FWD_BUILD;
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  const runtime = g.Bun
    ? `bun ${g.Bun.version}`
    : g.Deno
      ? `deno ${g.Deno.version.deno}`
      : `node ${process.version}`;
  return {
    version: pkg.version,
    commit: build?.commit ?? "source",
    date: build?.date ?? "",
    target: build?.target ?? `${process.platform}-${process.arch}`,
    runtime: build ? `bun ${build.bun}` : runtime,
  };
}

export function versionLine(): string {
  const v = versionInfo();
  const parts = [v.commit, v.date, v.target, v.runtime].filter(Boolean).join(", ");
  return `fwd ${v.version} (${parts})`;
}
