/** Pagination and scoping shared by every store port. */

export interface Page<T> {
  items: T[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  nextCursor?: string | undefined;
}

export interface PageRequest {
  cursor?: string | undefined;
  /** 1..500; defaults to 50. */
  limit?: number | undefined;
}

export interface OwnerScope {
  owner?: string | undefined;
  org?: string | undefined;
}

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;
