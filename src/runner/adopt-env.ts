/** Sets this process's environment to `env` (variable by variable: the real environment follows) until undone. */
export function adoptProcessEnv(env: NodeJS.ProcessEnv): () => void {
  const saved = { ...process.env };
  const become = (target: NodeJS.ProcessEnv): void => {
    for (const name of Object.keys(process.env)) if (!(name in target)) delete process.env[name];
    for (const [name, value] of Object.entries(target)) if (value !== undefined && process.env[name] !== value) process.env[name] = value;
  };
  become(env);
  return () => become(saved);
}
