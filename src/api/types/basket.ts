/**
 * The user's ESAP basket (`GET basket`).
 *
 * Shapes of the REST API, mirroring escape_dlaas/web/openapi.yaml (field
 * names exactly as the server sends them). Types only, no code.
 */
import type { IAvailability } from './dids';

/** Kind of an ESAP basket item: a DID of the instance, another archive's item, or unreadable. */
export type BasketItemKind = 'rucio' | 'other' | 'malformed';

/** One item of the ESAP basket (`GET basket`), in basket order. */
export interface IBasketItem {
  index: number;
  kind: BasketItemKind;
  archive: string | null;
  did: string | null;
  label: string;
  /** Why the item cannot be read, or why Rucio does not know its DID. */
  problem: string | null;
  record: Record<string, unknown> | null;
  /** Rucio items only: */
  found?: boolean;
  type?: string | null;
  bytes?: number | null;
  length?: number | null;
  metadata?: Record<string, unknown>;
  availability?: IAvailability | null;
  embargo?: { did: string; until: string } | null;
}

/** The user's ESAP basket; `enabled` false where the site configured none. */
export interface IBasket {
  enabled: boolean;
  source: { kind: 'esap' | 'file' | 'url'; location: string } | null;
  note: string | null;
  instance?: string;
  truncated?: boolean;
  items: IBasketItem[];
  counts: { rucio: number; other: number; malformed: number };
  total_bytes: number;
  movable: number;
  bytes_to_move: number;
  unknown_sizes: number;
}
