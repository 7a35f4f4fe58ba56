import { expect, test } from "bun:test";
import { runFwd } from "../helpers/fwd.ts";
import { tempHome } from "../helpers/home.ts";
import { TARGET_BODY } from "../helpers/targets.ts";

test("fwd demo --json reports the page fetched through the forward and what carried it", async () => {
  const home = tempHome("fwd-demo-");
  try {
    const r = await runFwd(["demo", "--json"], { env: home.env });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ body: TARGET_BODY, status: 200, target: { host: "target-host" } });
    expect(out.bastion.hostKey).toMatch(/^SHA256:/);
    expect(out.forward.bytesIn).toBeGreaterThan(TARGET_BODY.length);
  } finally {
    home.cleanup();
  }
});
