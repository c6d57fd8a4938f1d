/** The signals a command reacts to: Ctrl-C and a polite kill. */
export type InterruptName = 'SIGINT' | 'SIGTERM';

/** Where a command hears interrupts, and how it leaves at once on a second one; injected so a runner can relay them. */
export interface Interrupts {
  /** Calls `handler` on every interrupt meant for this command; returns the unsubscribe. */
  listen(handler: (sig: InterruptName) => void): () => void;
  /** Ends the command now with `code` (a second interrupt); whatever cleanup is in flight is left behind. */
  exitNow(code: number): void;
}

/** The real process's signals. */
export const processInterrupts: Interrupts = {
  listen(handler) {
    const onSignal = (sig: NodeJS.Signals): void => handler(sig === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  },
  exitNow: (code) => process.exit(code),
};
