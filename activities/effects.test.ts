import { describe, expect, it } from 'vitest';
import { effectError, effectOk, MAX_RETRY_AFTER_MS, parseRetryAfter, redactJson, redactResult, redactText, referencedSecrets, secretNeedles } from './effects.ts';

describe('secret redaction', () => {
  const needles = secretNeedles(['s3cr3t/"value"', 'abc']);

  it('covers the raw, URL-encoded and JSON-escaped forms, and skips implausibly short secrets', () => {
    expect(needles).toContain('s3cr3t/"value"');
    expect(needles).toContain(encodeURIComponent('s3cr3t/"value"'));
    expect(needles).toContain('s3cr3t/\\"value\\"');
    expect(needles).not.toContain('abc');
  });

  it('scrubs texts, JSON values (keys too) and whole results', () => {
    expect(redactText('GET /x?k=s3cr3t%2F%22value%22', needles)).toBe('GET /x?k=[redacted]');
    expect(redactJson({ ['s3cr3t/"value"']: ['a s3cr3t/"value" b', 1, null] }, needles)).toEqual({ '[redacted]': ['a [redacted] b', 1, null] });
    const ok = redactResult(effectOk([{ variable: 'session.r', value: { echo: 's3cr3t/"value"' } }], { url: '/s3cr3t/"value"' }), needles);
    expect(JSON.stringify(ok)).not.toContain('s3cr3t');
    const failed = redactResult(effectError('http_status', 'failed for s3cr3t/"value"', { status: 401 }), needles);
    expect(failed).toEqual({ ok: false, error: { code: 'http_status', status: 401, message: 'failed for [redacted]' }, set: [] });
  });

  it('catches upper- and lower-cased secrets and their base64 forms', () => {
    const token = secretNeedles(['sk_Live_0a1b2c3d']);
    expect(redactText('key=SK_LIVE_0A1B2C3D and sk_live_0a1b2c3d', token)).toBe('key=[redacted] and [redacted]');
    expect(redactText(`basic ${Buffer.from('sk_Live_0a1b2c3d').toString('base64')}`, token)).toBe('basic [redacted]');
    expect(redactText(`url ${Buffer.from('sk_Live_0a1b2c3d').toString('base64url')}`, token)).toBe('url [redacted]');
  });

  it('finds the secrets templates reference', () => {
    expect(referencedSecrets(['session.a', 'secrets.token', 'secrets.token', 'secrets.other', 'user.secrets'])).toEqual(['token', 'other']);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads seconds, HTTP dates and retry-after-ms, capped', () => {
    expect(parseRetryAfter('7', null, now)).toBe(7000);
    expect(parseRetryAfter('1.5', null, now)).toBe(1500);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', null, now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', null, now)).toBe(0);
    expect(parseRetryAfter('9', '250', now)).toBe(250);
    expect(parseRetryAfter('99999', null, now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('soon', null, now)).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
