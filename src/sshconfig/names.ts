/**
 * Host and user names given on the command line: ssh.c valid_hostname() and
 * valid_ruser() as Debian 12's ssh has them (refusing shell metacharacters).
 */

/** ssh.c valid_hostname(). */
export function validHostname(s: string): boolean {
  return !s.startsWith("-") && !/['`"$\\;&<>|(){},\s\x00-\x1f\x7f]/.test(s);
}

/** ssh.c valid_ruser(). */
export function validRemoteUser(s: string): boolean {
  return !s.startsWith("-") && !/['`";&<>|(){}\x00-\x1f\x7f]|\s-|\\$/.test(s);
}
