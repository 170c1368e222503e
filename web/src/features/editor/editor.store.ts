import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch, type Ref } from 'vue';
import { graphSchema } from '../../../../chain/index.ts';
import { client, unwrap, type ChainDetail, type NodeType } from '../../api/client.ts';
import { ApiError } from '../../api/errors.ts';
import type { ClipboardPayload, CompileError, Graph, GraphEdge, GraphNode, XY } from './editor.types.ts';
import { applyCommand, clone, History, removeCommand, type Command, type NodePatch, type SettingsPatch } from './history.ts';
import { tidyPositions } from './layout.ts';
import { createValidator, type Validation } from './validation.ts';

export type SaveState = 'saved' | 'dirty' | 'saving' | 'error' | 'conflict';
/** Why a connection was refused (an i18n key under editor.). */
export type Refusal = 'refuseIntoStart' | 'refuseOutOf' | 'refuseSelf' | 'refuseDuplicate';

const AUTOSAVE_MS = 700;
const TERMINAL_TYPES = new Set(['end', 'goto']);

let nodeTypesCache: NodeType[] | null = null;

/** The open chain: the store owns the graph; every edit is a command (undo/redo) and autosaves. */
export const useEditorStore = defineStore('editor', () => {
  const chain = shallowRef<ChainDetail | null>(null);
  // Annotated: Vue's UnwrapRef of the zod-derived graph type is too deep for the compiler.
  const graph = ref(null) as Ref<Graph | null>;
  const revision = ref(0);
  const nodeTypes = shallowRef<NodeType[]>([]);
  const loading = ref(false);
  const loadError = ref<ApiError | null>(null);
  const selectedNodes = ref<string[]>([]);
  const selectedEdges = ref<string[]>([]);
  const saveState = ref<SaveState>('saved');
  const saveError = ref<ApiError | null>(null);
  const conflictRevision = ref<number | null>(null);
  const history = new History();
  /** Bumped on each history change (the History class is not reactive). */
  const historyTick = ref(0);
  const validation = shallowRef<Validation | null>(null);
  // The compiler runs in a Web Worker: a 1,000-node chain validates without blocking the canvas.
  const validator = createValidator((result) => (validation.value = graph.value ? result : null));
  let saveTimer: ReturnType<typeof setTimeout> | undefined;
  let saving: Promise<void> | null = null;
  let editsSinceSave = 0;

  const canEdit = computed(() => chain.value !== null && chain.value.role !== 'viewer');
  const canUndo = computed(() => historyTick.value >= 0 && history.canUndo);
  const canRedo = computed(() => historyTick.value >= 0 && history.canRedo);
  const typeByName = computed(() => new Map(nodeTypes.value.map((t) => [t.type, t])));
  const errors = computed<CompileError[]>(() => (validation.value && !validation.value.ok ? validation.value.errors : []));
  const warnings = computed<CompileError[]>(() => validation.value?.warnings ?? []);

  function validate(): void {
    if (graph.value) validator.validate(graph.value);
    else validation.value = null;
  }
  let validateTimer: ReturnType<typeof setTimeout> | undefined;
  watch(
    graph,
    () => {
      clearTimeout(validateTimer);
      validateTimer = setTimeout(validate, 150);
    },
    { deep: true },
  );

  function adopt(detail: ChainDetail): void {
    chain.value = detail;
    revision.value = detail.draftRevision;
    graph.value = graphSchema.parse(detail.draft);
    history.clear();
    historyTick.value++;
    selectedNodes.value = [];
    selectedEdges.value = [];
    saveState.value = 'saved';
    conflictRevision.value = null;
    editsSinceSave = 0;
    validate();
  }

  async function load(id: string): Promise<void> {
    loading.value = true;
    loadError.value = null;
    clearTimeout(saveTimer);
    try {
      const [detail, types] = await Promise.all([
        unwrap(client.GET('/api/v1/chains/{id}', { params: { path: { id } } })),
        nodeTypesCache ? Promise.resolve(nodeTypesCache) : unwrap(client.GET('/api/v1/node-types')).then((list) => list.items),
      ]);
      nodeTypesCache = types;
      nodeTypes.value = types;
      adopt(detail);
    } catch (err) {
      chain.value = null;
      graph.value = null;
      loadError.value = err instanceof ApiError ? err : new ApiError(0, 'network', String(err));
    } finally {
      loading.value = false;
    }
  }

  // ---- commands ----

  function execute(command: Command): void {
    if (!graph.value || !canEdit.value) return;
    applyCommand(graph.value, command);
    history.push(command);
    historyTick.value++;
    changed();
  }

  function changed(): void {
    editsSinceSave++;
    if (saveState.value !== 'conflict') saveState.value = 'dirty';
    scheduleSave();
  }

  function undo(): void {
    if (!graph.value || !canEdit.value || !history.undo(graph.value)) return;
    historyTick.value++;
    pruneSelection();
    changed();
  }

  function redo(): void {
    if (!graph.value || !canEdit.value || !history.redo(graph.value)) return;
    historyTick.value++;
    pruneSelection();
    changed();
  }

  function pruneSelection(): void {
    const g = graph.value;
    if (!g) return;
    selectedNodes.value = selectedNodes.value.filter((id) => g.nodes.some((n) => n.id === id));
    selectedEdges.value = selectedEdges.value.filter((id) => g.edges.some((e) => e.id === id));
  }

  function uniqueId(base: string, taken: Set<string>): string {
    const stem = base.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 90) || 'node';
    if (!taken.has(stem)) return stem;
    for (let n = 2; ; n++) if (!taken.has(`${stem}_${n}`)) return `${stem}_${n}`;
  }

  /** Adds a node of a type with its default config; returns its id. */
  function addNode(type: string, position: XY): string | null {
    if (!graph.value) return null;
    const info = typeByName.value.get(type);
    const id = uniqueId(type, new Set(graph.value.nodes.map((n) => n.id)));
    const data = info && typeof info.defaults === 'object' && info.defaults !== null ? clone(info.defaults as Record<string, unknown>) : {};
    const node: GraphNode = { id, type, position: { x: Math.round(position.x), y: Math.round(position.y) }, data };
    execute({ kind: 'add-node', node, index: graph.value.nodes.length });
    selectedNodes.value = [id];
    selectedEdges.value = [];
    return id;
  }

  /** Checks a connection; null when allowed. */
  function refusal(source: string, sourcePort: string, target: string): { reason: Refusal; type?: string } | null {
    const g = graph.value;
    if (!g) return { reason: 'refuseSelf' };
    const from = g.nodes.find((n) => n.id === source);
    const to = g.nodes.find((n) => n.id === target);
    if (!from || !to) return { reason: 'refuseSelf' };
    if (source === target) return { reason: 'refuseSelf' };
    if (to.type === 'start') return { reason: 'refuseIntoStart' };
    if (TERMINAL_TYPES.has(from.type)) return { reason: 'refuseOutOf', type: from.type };
    if (g.edges.some((e) => e.source === source && e.sourcePort === sourcePort && e.target === target)) return { reason: 'refuseDuplicate' };
    return null;
  }

  function connect(source: string, sourcePort: string, target: string): { reason: Refusal; type?: string } | null {
    const refused = refusal(source, sourcePort, target);
    if (refused || !graph.value) return refused;
    const id = uniqueId(`${source}-${sourcePort}-${target}`, new Set(graph.value.edges.map((e) => e.id)));
    const edge: GraphEdge = { id, source, sourcePort, target };
    execute({ kind: 'add-edge', edge, index: graph.value.edges.length });
    return null;
  }

  /** Positions while dragging: shown at once, recorded by {@link commitMove} at the end. */
  function dragTo(moves: { id: string; position: XY }[]): void {
    const g = graph.value;
    if (!g || !canEdit.value) return;
    for (const move of moves) {
      const node = g.nodes.find((n) => n.id === move.id);
      if (node) node.position = { x: move.position.x, y: move.position.y };
    }
  }

  function commitMove(moves: { id: string; from: XY; to: XY }[]): void {
    const real = moves.filter((m) => m.from.x !== m.to.x || m.from.y !== m.to.y);
    if (!real.length) return;
    execute({ kind: 'bulk', label: 'move', commands: real.map((m) => ({ kind: 'move-node', id: m.id, from: { ...m.from }, to: { x: Math.round(m.to.x), y: Math.round(m.to.y) } })) });
  }

  function updateNode(id: string, patch: NodePatch): void {
    const node = graph.value?.nodes.find((n) => n.id === id);
    if (!node) return;
    const before: NodePatch = {};
    if ('data' in patch) before.data = clone(node.data);
    if ('label' in patch) before.label = node.label;
    execute({ kind: 'update-node', id, before, after: clone(patch), at: Date.now() });
  }

  /** Renames the chain or changes its description (the list shows them after saving). */
  function updateSettings(patch: SettingsPatch): void {
    const g = graph.value;
    if (!g) return;
    const before: SettingsPatch = {};
    if ('name' in patch) before.name = g.name;
    if ('description' in patch) before.description = g.description;
    if ('variables' in patch) before.variables = clone(g.variables);
    if ('languages' in patch) before.languages = g.languages ? [...g.languages] : undefined;
    if ('defaultLanguage' in patch) before.defaultLanguage = g.defaultLanguage;
    execute({ kind: 'update-settings', before, after: { ...patch }, at: Date.now() });
  }

  /** Replaces an edge's label, priority or rules (one undo step: remove and re-add at its index). */
  function updateEdge(edge: GraphEdge): void {
    const index = graph.value?.edges.findIndex((e) => e.id === edge.id) ?? -1;
    const old = index >= 0 ? graph.value?.edges[index] : undefined;
    if (!old) return;
    execute({ kind: 'bulk', label: 'edit-edge', commands: [{ kind: 'remove-edge', edge: clone(old), index }, { kind: 'add-edge', edge: clone(edge), index }] });
  }

  function select(nodes: string[], edges: string[] = []): void {
    selectedNodes.value = nodes;
    selectedEdges.value = edges;
  }

  function removeSelection(): void {
    if (!graph.value) return;
    const command = removeCommand(graph.value, new Set(selectedNodes.value), new Set(selectedEdges.value));
    if (command) execute(command);
    select([]);
  }

  /** The selected nodes and the edges between them, as clipboard JSON. */
  function copySelection(): ClipboardPayload | null {
    const g = graph.value;
    if (!g || !selectedNodes.value.length) return null;
    const ids = new Set(selectedNodes.value);
    return {
      chainflow: 'nodes',
      version: 1,
      nodes: clone(g.nodes.filter((n) => ids.has(n.id))),
      edges: clone(g.edges.filter((e) => ids.has(e.source) && ids.has(e.target))),
    };
  }

  /** Inserts nodes (new ids where taken) offset to `at` (their top-left), as one step; returns how many. */
  function paste(payload: ClipboardPayload, at?: XY): number {
    const g = graph.value;
    if (!g || !payload.nodes.length) return 0;
    const nodeIds = new Set(g.nodes.map((n) => n.id));
    const edgeIds = new Set(g.edges.map((e) => e.id));
    const rename = new Map<string, string>();
    const minX = Math.min(...payload.nodes.map((n) => n.position.x));
    const minY = Math.min(...payload.nodes.map((n) => n.position.y));
    const dx = at ? at.x - minX : 40;
    const dy = at ? at.y - minY : 40;
    const commands: Command[] = [];
    payload.nodes.forEach((node) => {
      const id = uniqueId(node.id, nodeIds);
      nodeIds.add(id);
      rename.set(node.id, id);
      commands.push({ kind: 'add-node', node: { ...clone(node), id, position: { x: Math.round(node.position.x + dx), y: Math.round(node.position.y + dy) } }, index: g.nodes.length + commands.length });
    });
    let edgeIndex = g.edges.length;
    for (const edge of payload.edges) {
      const source = rename.get(edge.source);
      const target = rename.get(edge.target);
      if (!source || !target) continue;
      const id = uniqueId(edge.id, edgeIds);
      edgeIds.add(id);
      commands.push({ kind: 'add-edge', edge: { ...clone(edge), id, source, target }, index: edgeIndex++ });
    }
    execute({ kind: 'bulk', label: 'paste', commands });
    select([...rename.values()]);
    return rename.size;
  }

  function duplicateSelection(): number {
    const payload = copySelection();
    return payload ? paste(payload) : 0;
  }

  /** Lays the graph out left to right (dagre, per connected component) as one step. */
  function tidyUp(sizes: (id: string) => { width: number; height: number } | undefined): void {
    const g = graph.value;
    if (!g) return;
    const positions = tidyPositions(g, sizes);
    commitMove(g.nodes.map((n) => ({ id: n.id, from: { ...n.position }, to: positions.get(n.id) ?? n.position })));
  }

  // ---- saving ----

  function scheduleSave(): void {
    clearTimeout(saveTimer);
    if (saveState.value === 'conflict') return;
    saveTimer = setTimeout(() => void save(), AUTOSAVE_MS);
  }

  async function put(base: number): Promise<void> {
    if (!chain.value || !graph.value) return;
    const sent = editsSinceSave;
    const body = { revision: base, graph: clone(graph.value) };
    const saved = await unwrap(client.PUT('/api/v1/chains/{id}/draft', { params: { path: { id: chain.value.id } }, body }));
    revision.value = saved.draftRevision;
    chain.value = { ...saved, draft: chain.value.draft };
    editsSinceSave -= sent;
  }

  /** Saves the draft now (waits for one in flight). Conflicts stop autosave until resolved. */
  async function save(): Promise<void> {
    clearTimeout(saveTimer);
    if (saving) await saving;
    if (!chain.value || !graph.value || !canEdit.value || editsSinceSave === 0 || saveState.value === 'conflict') return;
    saveState.value = 'saving';
    saving = (async () => {
      try {
        await put(revision.value);
        saveError.value = null;
        saveState.value = editsSinceSave > 0 ? 'dirty' : 'saved';
        if (editsSinceSave > 0) scheduleSave();
      } catch (err) {
        const apiError = err instanceof ApiError ? err : new ApiError(0, 'network', String(err));
        if (apiError.code === 'stale_revision') {
          const current = typeof apiError.details === 'object' && apiError.details !== null && 'currentRevision' in apiError.details ? Number(apiError.details.currentRevision) : null;
          conflictRevision.value = current;
          saveState.value = 'conflict';
        } else {
          saveError.value = apiError;
          saveState.value = 'error';
        }
      } finally {
        saving = null;
      }
    })();
    await saving;
  }

  /** After a conflict: take the server's draft (losing the unsaved edits), or write ours over it. */
  async function resolveConflict(choice: 'reload' | 'overwrite'): Promise<void> {
    if (!chain.value) return;
    if (choice === 'reload') {
      await load(chain.value.id);
      return;
    }
    const current = await unwrap(client.GET('/api/v1/chains/{id}', { params: { path: { id: chain.value.id } } }));
    saveState.value = 'saving';
    try {
      await put(current.draftRevision);
      conflictRevision.value = null;
      saveState.value = 'saved';
    } catch (err) {
      saveState.value = 'conflict';
      throw err;
    }
  }

  async function publish(note?: string): Promise<number> {
    if (!chain.value) throw new Error('no chain');
    await save();
    if (saveState.value !== 'saved') throw saveError.value ?? new ApiError(409, 'not_saved', 'Save the draft first.');
    const version = await unwrap(client.POST('/api/v1/chains/{id}/publish', { params: { path: { id: chain.value.id } }, body: { revision: revision.value, ...(note ? { note } : {}) } }));
    chain.value = { ...chain.value, activeVersion: { id: version.id, number: version.number } };
    return version.number;
  }

  async function exportYaml(): Promise<string> {
    if (!chain.value) return '';
    await save();
    return unwrap(client.GET('/api/v1/chains/{id}/export', { params: { path: { id: chain.value.id }, query: { format: 'yaml', version: 'draft' } }, parseAs: 'text' }));
  }

  return {
    chain,
    graph,
    revision,
    nodeTypes,
    typeByName,
    loading,
    loadError,
    selectedNodes,
    selectedEdges,
    saveState,
    saveError,
    conflictRevision,
    canEdit,
    canUndo,
    canRedo,
    errors,
    warnings,
    load,
    addNode,
    refusal,
    connect,
    dragTo,
    commitMove,
    updateNode,
    updateSettings,
    updateEdge,
    select,
    removeSelection,
    copySelection,
    paste,
    duplicateSelection,
    tidyUp,
    undo,
    redo,
    save,
    resolveConflict,
    publish,
    exportYaml,
  };
});

/** Reads clipboard text as copied nodes; null when it is something else. */
export function parseClipboard(text: string): ClipboardPayload | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null || !('chainflow' in raw) || raw.chainflow !== 'nodes') return null;
  const nodes = 'nodes' in raw ? graphSchema.shape.nodes.safeParse(raw.nodes) : null;
  const edges = 'edges' in raw ? graphSchema.shape.edges.safeParse(raw.edges) : null;
  if (!nodes?.success) return null;
  return { chainflow: 'nodes', version: 1, nodes: nodes.data, edges: edges?.success ? edges.data : [] };
}
