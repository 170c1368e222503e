import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { Graph } from './editor.types.ts';

export type DiffMark = 'added' | 'removed' | 'changed';

/** A diff drawn on the canvas: the newer graph plus the nodes the older one had and lost. */
export interface CanvasDiff {
  graph: Graph;
  marks: Map<string, DiffMark>;
  edgeMarks: Map<string, DiffMark>;
  from: number | 'draft';
  to: number | 'draft';
}

/**
 * What the side panels draw over the canvas: the simulator's current and visited nodes,
 * or a version diff (which replaces the draft on the canvas, read-only, until closed).
 */
export const useCanvasOverlay = defineStore('editorOverlay', () => {
  const simCurrent = ref<string | null>(null);
  const simVisited = shallowRef<ReadonlySet<string>>(new Set());
  const diff = shallowRef<CanvasDiff | null>(null);

  const active = computed(() => diff.value !== null || simCurrent.value !== null || simVisited.value.size > 0);

  function nodeClass(id: string): string | undefined {
    const mark = diff.value?.marks.get(id);
    if (mark) return `diff-${mark}`;
    if (diff.value) return undefined;
    if (simCurrent.value === id) return 'sim-current';
    if (simVisited.value.has(id)) return 'sim-visited';
    return undefined;
  }

  function edgeClass(id: string): string | undefined {
    const mark = diff.value?.edgeMarks.get(id);
    return mark ? `diff-${mark}` : undefined;
  }

  function visit(nodeId: string): void {
    simCurrent.value = nodeId;
    if (!simVisited.value.has(nodeId)) simVisited.value = new Set([...simVisited.value, nodeId]);
  }

  function clearSimulation(): void {
    simCurrent.value = null;
    simVisited.value = new Set();
  }

  return { simCurrent, simVisited, diff, active, nodeClass, edgeClass, visit, clearSimulation };
});
