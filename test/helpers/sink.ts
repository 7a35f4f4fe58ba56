/** A stand-in for stdout/stderr that keeps what was written (not a TTY). */
export function sink(): { stream: NodeJS.WriteStream; text: () => string } {
  let text = "";
  const stream = {
    write(chunk: string | Uint8Array) {
      text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
      return true;
    },
    isTTY: false,
  } as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}
