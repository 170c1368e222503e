import { fileURLToPath } from 'node:url';

/**
 * The installation's root folder: where package.json, examples/, db/migrations/ and
 * web/ are. Here rather than in cli/ because temporal/ needs it too (to hash and bundle
 * the workflow sources), and nothing below cli/ imports cli/.
 */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
