import { listAccess, shareResource, unshareResource, type SharedResource } from '../services/grants.ts';
import { chainParamsSchema, grantListSchema, grantParamsSchema, grantViewSchema, shareBodySchema } from '../schemas/chains.ts';
import { loadChain } from './chain-views.ts';
import { defineOperation, type Operation } from './define.ts';

/** A chain as the grants service shares it. */
const sharedChain = (chain: { id: string; slug: string; ownerId?: string | null }): SharedResource => ({
  type: 'chain',
  id: chain.id,
  ownerId: chain.ownerId ?? null,
  label: `chain "${chain.slug}"`,
  ownerRemovalHint: "The owner's access cannot be removed; an admin deleting the owner's account transfers the chain.",
});

/** `/chains/{id}/grants`: who may open a chain, and sharing it with users. */
export function chainSharingOperations(): Operation[] {
  return [
    defineOperation({
      method: 'get',
      path: '/chains/:id/grants',
      operationId: 'listChainGrants',
      summary: 'Who has access to a chain: its owner and the users it is shared with',
      tags: ['sharing'],
      auth: 'bearer',
      params: chainParamsSchema,
      errors: [404],
      responses: { 200: { description: 'Owner first, then grants by e-mail', schema: grantListSchema } },
      handler: async ({ res, em, params, principal }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:view');
        res.json(await listAccess(em, sharedChain(chain)));
      },
    }),
    defineOperation({
      method: 'post',
      path: '/chains/:id/grants',
      operationId: 'shareChain',
      summary: 'Share a chain with a user (viewer, editor or owner); changes the role of an existing share',
      tags: ['sharing'],
      auth: 'bearer',
      params: chainParamsSchema,
      body: shareBodySchema,
      errors: [404, 409],
      responses: { 200: { description: 'The user’s access', schema: grantViewSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:share');
        res.json(await shareResource(em, principal, sharedChain(chain), body, audit));
      },
    }),
    defineOperation({
      method: 'delete',
      path: '/chains/:id/grants/:userId',
      operationId: 'unshareChain',
      summary: 'Stop sharing a chain with a user',
      tags: ['sharing'],
      auth: 'bearer',
      params: grantParamsSchema,
      errors: [404, 409],
      responses: { 204: { description: 'Removed' } },
      handler: async ({ res, em, params, principal, audit }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:share');
        await unshareResource(em, sharedChain(chain), params.userId, audit);
        res.status(204).end();
      },
    }),
  ];
}
