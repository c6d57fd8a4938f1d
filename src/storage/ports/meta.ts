/** Small named settings the coordinator keeps (installation id, fleet-wide drain). */
export interface MetaStore {
  getMeta(name: string): Promise<string | undefined>;
  setMeta(name: string, value: string): Promise<void>;
}
