/** What a run brought back from the box (docs/artifacts.md): the run record's list, at most 200 paths named (artifacts/download.ts PATHS_KEPT). */
export interface ArtifactsSummary {
  /** The local folder, relative to the checkout: `.crabbox/artifacts/<run id>`. */
  dir: string;
  files: number;
  bytes: number;
  paths: string[];
  /** Files that came back but are not named in `paths`. */
  omitted: number;
  /** Matching symlinks and special files, never followed or copied. */
  skipped: number;
  /** Why nothing (or not everything) came back. */
  error?: string | undefined;
}
