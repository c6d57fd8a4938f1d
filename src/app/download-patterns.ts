/** The download path rules (`--download`, config `artifacts:`), for a face that checks its flags before it calls `run`. */
export { validateDownloadPattern } from '../artifacts/globs.ts';
