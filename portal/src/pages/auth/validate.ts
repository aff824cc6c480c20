/** Checks made in the browser before the server's (which remain the rule). */
export const MIN_PASSWORD = 12;
export const validEmail = (s: string): boolean => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s.trim());
export const validPassword = (s: string): boolean => s.length >= MIN_PASSWORD;
