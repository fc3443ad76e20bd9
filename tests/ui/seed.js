// Real data for the dashboard's browser tests and screenshots, written through the
// server's own API: an index "docs" of 300 text chunks in 12 topics (sent without
// vectors, so the server's embedder embeds them), one document node per topic and
// a few entity nodes, linked next/prev, parent/child and mentions; and, on demand,
// an index "big" of n points with vectors and a linked graph (the explorer's
// 2,000-node measurement).

const TOPICS = {
  cooking: ['The chef bakes sourdough bread in a hot stone oven', 'Knead the dough and let it rise before baking', 'A pinch of salt brings out the flavour of the tomato sauce', 'Roast the vegetables with olive oil and garlic', 'Whisk the eggs and sugar for the sponge cake'],
  astronomy: ['The telescope observed a distant spiral galaxy', 'Astronomers measured the orbit of the comet around the sun', 'A supernova outshines its whole galaxy for weeks', 'The moon shows phases as it orbits the earth', 'Exoplanets are found by the dimming of their star'],
  football: ['The striker scored a goal in the final minute of the match', 'The goalkeeper saved a penalty kick', 'The coach changed the team formation at half time', 'Fans filled the stadium for the championship game', 'A red card sent the defender off the pitch'],
  programming: ['The compiler reports a type error in the function', 'Write unit tests before refactoring the module', 'The borrow checker prevents data races in Rust code', 'A hash map gives constant time lookups on average', 'The program crashed with a null pointer exception'],
  gardening: ['Plant the tulip bulbs in autumn before the frost', 'Water the tomato seedlings every morning', 'Compost enriches the soil of the vegetable garden', 'Prune the rose bushes in late winter', 'Aphids damage the leaves of young plants'],
  music: ['The orchestra played a symphony by Beethoven', 'The guitarist tuned the strings before the concert', 'A minor chord sounds sad compared to a major chord', 'The pianist practised scales for an hour', 'The choir sang in four part harmony'],
  medicine: ['The doctor prescribed antibiotics for the infection', 'A vaccine trains the immune system against the virus', 'The nurse measured the patient blood pressure', 'Surgeons repaired the torn ligament in the knee', 'Regular exercise lowers the risk of heart disease'],
  finance: ['The central bank raised interest rates to curb inflation', 'Investors sold shares as the stock market fell', 'A diversified portfolio reduces investment risk', 'The company reported higher quarterly earnings', 'Bond yields rose after the inflation report'],
  travel: ['The train to the mountains leaves at dawn', 'Pack a passport and a map for the journey abroad', 'The hotel by the beach had a view of the sea', 'The flight was delayed by a storm at the airport', 'Backpackers hiked the trail to the old castle'],
  chemistry: ['Sodium reacts violently with water', 'The catalyst speeds up the chemical reaction', 'An acid and a base neutralise each other', 'Carbon atoms form four covalent bonds', 'The solution turned blue when copper dissolved'],
  history: ['The Roman empire built roads across Europe', 'The printing press spread books and ideas', 'The treaty ended the long war between the kingdoms', 'Ancient Egyptians built the pyramids as tombs', 'The industrial revolution began with steam engines'],
  weather: ['Heavy rain and thunder are forecast for tonight', 'A cold front brings snow to the northern hills', 'The hurricane made landfall with strong winds', 'Fog covered the valley in the early morning', 'A heatwave pushed temperatures above forty degrees'],
};
const ENTITIES = ['ent:water', 'ent:time', 'ent:people'];
const PER_TOPIC = 25;

async function call(base, token, path, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  const r = await fetch(base + path, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

async function links(base, token, list) {
  const workers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = w; i < list.length; i += 8) await call(base, token, '/graph/actions/link', list[i]);
  });
  await Promise.all(workers);
}

/** The "docs" index (embedded by the server). Returns what was written. */
async function seedDocs(base, token) {
  await call(base, token, '/vector/actions/create', { index_name: 'docs', metric: 'cosine', text_language: 'english' });
  const vectors = [];
  const edges = [];
  for (const [topic, lines] of Object.entries(TOPICS)) {
    vectors.push({ id: 'doc:' + topic, metadata: { type: 'document', title: topic + ' notes' } });
    for (let i = 0; i < PER_TOPIC; i++) {
      const id = `${topic}-${i}`;
      const text = `${lines[i % lines.length]} (${topic} note ${i}, part ${Math.floor(i / lines.length) + 1}).`;
      vectors.push({ id, metadata: { content: text, type: 'chunk', source: topic, chunk_index: i } });
      edges.push({ source_id: 'doc:' + topic, target_id: id, relation_type: 'child', inverse_relation_type: 'parent' });
      if (i + 1 < PER_TOPIC) edges.push({ source_id: id, target_id: `${topic}-${i + 1}`, relation_type: 'next', inverse_relation_type: 'prev' });
      if (i % 5 === 0) edges.push({ source_id: id, target_id: ENTITIES[i % ENTITIES.length], relation_type: 'mentions' });
    }
  }
  for (const e of ENTITIES) vectors.push({ id: e, metadata: { type: 'entity', name: e.slice(4) } });
  for (let i = 0; i < vectors.length; i += 100) {
    await call(base, token, '/vector/actions/add-batch', { index_name: 'docs', vectors: vectors.slice(i, i + 100) });
  }
  await links(base, token, edges);
  return { items: vectors.length, chunks: Object.keys(TOPICS).length * PER_TOPIC, edges: edges.length };
}

/** The "big" index: n points with 32-d vectors, chains of 20 and hubs. */
async function seedBig(base, token, n) {
  await call(base, token, '/vector/actions/create', { index_name: 'big', metric: 'cosine' });
  let seed = 7;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const vectors = [];
  const edges = [];
  for (let i = 0; i < n; i++) {
    const group = Math.floor(i / 20);
    vectors.push({ id: 'n' + i, vector: Array.from({ length: 32 }, () => rnd() - 0.5),
      metadata: { content: `point ${i} of group ${group}`, type: i % 20 === 0 ? 'document' : 'chunk', group } });
    if (i % 20 !== 19 && i + 1 < n) edges.push({ source_id: 'n' + i, target_id: 'n' + (i + 1), relation_type: 'next' });
    if (i % 20 !== 0) edges.push({ source_id: 'n' + i, target_id: 'n' + group * 20, relation_type: 'parent' });
    if (i % 7 === 0) edges.push({ source_id: 'n' + i, target_id: 'n' + Math.floor(rnd() * n), relation_type: 'related_to' });
  }
  for (let i = 0; i < vectors.length; i += 500) {
    await call(base, token, '/vector/actions/add-batch', { index_name: 'big', vectors: vectors.slice(i, i + 500) });
  }
  await links(base, token, edges);
  return { items: n, edges: edges.length };
}

module.exports = { seedDocs, seedBig, TOPICS };
