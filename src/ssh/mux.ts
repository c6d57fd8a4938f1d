/**
 * ssh's own multiplexing diagnostics. When the lease's ControlMaster refuses another session (the box's sshd
 * `MaxSessions` is reached, for example on a static host with the default 10) or its socket is stale, ssh says so
 * on stderr and carries on over a connection of its own: the command still runs. These lines are about crabbox's
 * transport, not the user's command, so they go to --debug instead of the command's stderr.
 */
const MUX_NOISE = [
  /^mux_client_[a-z_]+: /,
  /^muxclient: /,
  /^ControlSocket .* already exists, disabling multiplexing$/,
  /^Control socket connect\(.*\): /,
];

/** Whether one stderr line (without its line ending) is ssh multiplexing noise. */
export function isMuxNoise(line: string): boolean {
  const text = line.replace(/\r$/, '');
  return MUX_NOISE.some((re) => re.test(text));
}

/** Splits text that ssh wrote before the remote command started into what to show and the multiplexing noise. */
export function splitMuxNoise(text: string): { kept: string; noise: string[] } {
  const noise: string[] = [];
  const kept = text.split(/(?<=\n)/).filter((line) => {
    if (!line.endsWith('\n') || !isMuxNoise(line.replace(/\n$/, ''))) return true;
    noise.push(line.trim());
    return false;
  });
  return { kept: kept.join(''), noise };
}
