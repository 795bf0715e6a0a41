/**
 * The purchase-propensity model: the notes' example of stateful business logic. A
 * visitor's state counts what they did since their last purchase; the score is a
 * logistic function of those counts:
 *
 *   z     = -3 + 0.3·ln(1+pageViews) + 0.8·ln(1+productViews) + 1.5·ln(1+carts) + 0.5·checkouts
 *   score = 1 / (1 + e^-z), rounded to 4 decimals (in [0, 1])
 *
 * A `checkout` converts the intent: it resets pageViews, productViews and carts to 0 and
 * adds one to checkouts (returning buyers score higher at the same activity). Other event
 * types do not change the state.
 */
import type { VisitorCounts } from '../../../../lib/records/score';

export const SCORED_TYPES = ['page_view', 'product_view', 'add_to_cart', 'checkout'] as const;
export type ScoredType = (typeof SCORED_TYPES)[number];

export type { VisitorCounts };

export const emptyCounts = (): VisitorCounts => ({
  pageViews: 0,
  productViews: 0,
  carts: 0,
  checkouts: 0,
});

export function isScored(type: string): type is ScoredType {
  return (SCORED_TYPES as readonly string[]).includes(type);
}

export function nextCounts(counts: VisitorCounts, type: ScoredType): VisitorCounts {
  switch (type) {
    case 'page_view':
      return { ...counts, pageViews: counts.pageViews + 1 };
    case 'product_view':
      return { ...counts, productViews: counts.productViews + 1 };
    case 'add_to_cart':
      return { ...counts, carts: counts.carts + 1 };
    case 'checkout':
      return { pageViews: 0, productViews: 0, carts: 0, checkouts: counts.checkouts + 1 };
  }
}

export function propensity(c: VisitorCounts): number {
  const z =
    -3 +
    0.3 * Math.log1p(c.pageViews) +
    0.8 * Math.log1p(c.productViews) +
    1.5 * Math.log1p(c.carts) +
    0.5 * c.checkouts;
  return Math.round((1 / (1 + Math.exp(-z))) * 10_000) / 10_000;
}
