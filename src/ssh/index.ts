// The ssh toolkit every SSH-based provider and sync/run build on.
export { shellQuote, shellQuoteWord } from './quote.ts';
export { leaseKeyDir, leaseKeyPaths, createClientKey, createHostKey, removeLeaseKeys, privateDir } from './keys.ts';
export { knownHostsPattern, knownHostsText, writeKnownHosts } from './known-hosts.ts';
export { type SshTarget, leaseTarget, sshOptions, sshArgv, rsyncRsh, rsyncRshArgv } from './target.ts';
export { readLeaseTransport, writeLeaseTransport } from './transport.ts';
export { controlPathFor, isPrivateDir } from './control-dir.ts';
export { connect, probe, masterAlive, sshExec, sshCapture, waitReady, closeMaster, type ExecOptions, type ExecResult } from './exec.ts';
export { classifySshFailure, hostKeyMismatch, sshFailure, type SshFailureKind } from './errors.ts';
