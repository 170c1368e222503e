import { describe, expect, it } from 'vitest';
import { committedApiTypes, generateApiTypes } from './api-types.ts';

describe('the web API client types', () => {
  it('match the OpenAPI document the API serves (run `npm run gen:api` when this fails)', async () => {
    expect(committedApiTypes()).toBe(await generateApiTypes());
  });
});
