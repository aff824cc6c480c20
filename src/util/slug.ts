/** A name as an address segment: lower-case ASCII letters, digits and hyphens ("Saint-Céré" → "saint-cere"). */
export function slugify(name: string, fallback: string, maxLength = 63): string {
  return (
    name
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/œ/g, 'oe')
      .replace(/æ/g, 'ae')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, maxLength)
      .replace(/-+$/, '') || fallback
  );
}
