/**
 * Money without floats: prices and quantities are integers on the wire (docs/protocol.md,
 * "Transport"); these helpers turn them into decimal strings and back with `bigint` arithmetic.
 *
 * A quantity's decimal places follow from the instrument's `qtyScale` (10^8 → 8 places). A price's
 * do not travel on the wire: a price is in the quote asset's minor unit (0.01 USDT in the default
 * configuration), which the operator publishes with the asset list; pass it to
 * {@link InstrumentUnits}.
 */
import type { InstrumentSpec } from './messages';

/** A decimal string that is not a valid amount at the given scale. */
export class DecimalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecimalError';
  }
}

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * `"65000.5"` with 2 decimals → `6500050n`. Refuses anything but plain decimal notation, and
 * digits beyond `decimals` unless they are zeros (nothing is ever rounded).
 */
export function parseDecimal(text: string, decimals: number): bigint {
  checkDecimals(decimals);
  const m = DECIMAL.exec(text.trim());
  if (m === null) throw new DecimalError(`${JSON.stringify(text)} is not a decimal number`);
  const [, minus, whole = '0', frac = ''] = m;
  const kept = frac.slice(0, decimals);
  if (/[^0]/.test(frac.slice(decimals))) {
    throw new DecimalError(`${text} has more than ${decimals} decimal places`);
  }
  const v = BigInt(whole + kept.padEnd(decimals, '0'));
  return minus === undefined ? v : -v;
}

/** `6500050n` with 2 decimals → `"65000.50"` (always `decimals` places). */
export function formatDecimal(value: bigint, decimals: number): string {
  checkDecimals(decimals);
  const neg = value < 0n;
  const digits = (neg ? -value : value).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const frac = digits.slice(digits.length - decimals);
  return (neg ? '-' : '') + (decimals === 0 ? whole : `${whole}.${frac}`);
}

function checkDecimals(decimals: number): void {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 30) {
    throw new DecimalError(`decimals ${decimals}: an integer 0-30`);
  }
}

/** The decimal places of a power of ten (`100000000n` → 8); throws for anything else. */
export function decimalsOfScale(scale: bigint): number {
  let d = 0;
  let s = scale;
  while (s > 1n && s % 10n === 0n) {
    s /= 10n;
    d += 1;
  }
  if (s !== 1n) throw new DecimalError(`qty_scale ${scale} is not a power of ten`);
  return d;
}

/** One instrument's units: decimal strings ↔ wire integers, checked against its tick and lot. */
export class InstrumentUnits {
  /** Decimal places of a quantity (from `qtyScale`). */
  readonly qtyDecimals: number;

  /**
   * @param spec the instrument (from `MdInstrument`, `InstrumentAdded`, or the operator)
   * @param priceDecimals decimal places of the quote asset's price unit (2 for 0.01 USDT)
   */
  constructor(
    readonly spec: InstrumentSpec,
    readonly priceDecimals: number,
  ) {
    this.qtyDecimals = decimalsOfScale(spec.qtyScale);
    checkDecimals(priceDecimals);
  }

  /** `"65000.00"` → price units; refuses a price that is not a positive multiple of the tick. */
  price(text: string): bigint {
    const p = parseDecimal(text, this.priceDecimals);
    if (p <= 0n || p % this.spec.tick !== 0n) {
      throw new DecimalError(`price ${text} is not a positive multiple of the tick (${this.formatPrice(this.spec.tick)})`);
    }
    return p;
  }

  /** `"0.0015"` → quantity units; refuses a quantity that is not a positive multiple of the lot. */
  qty(text: string): bigint {
    const q = parseDecimal(text, this.qtyDecimals);
    if (q <= 0n || q % this.spec.lot !== 0n) {
      throw new DecimalError(`quantity ${text} is not a positive multiple of the lot (${this.formatQty(this.spec.lot)})`);
    }
    return q;
  }

  formatPrice(p: bigint): string {
    return formatDecimal(p, this.priceDecimals);
  }

  formatQty(q: bigint): string {
    return formatDecimal(q, this.qtyDecimals);
  }

  /** notional = price * qty / qtyScale, in the quote asset's minor units (rounded down). */
  notional(price: bigint, qty: bigint): bigint {
    return (price * qty) / this.spec.qtyScale;
  }
}
