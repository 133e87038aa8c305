// The map: basemap (optional), area boundary and zones, the heatmap from the
// server, single incidents from the vector tiles when zoomed in, and the
// assets of the municipality's registers.
import * as maplibregl from 'maplibre-gl';
import type { GeoJSONSource, Map as MlMap } from 'maplibre-gl';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import 'maplibre-gl/dist/maplibre-gl.css';
import type { Area, Asset, UiConfig } from './api';

maplibregl.setWorkerUrl(workerUrl);

/** Colour-blind-safe sequential scale (viridis), low to high. */
export const VIRIDIS = ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'];
export const STATUS_COLOURS: Record<string, string> = {
  nieuw: '#d55e00', in_behandeling: '#e69f00', heropend: '#cc79a7', opgelost: '#009e73', afgewezen: '#999999',
};
export const POINTS_FROM_ZOOM = 16;
/** One colour per kind of asset (told apart from incidents by size and a dark rim). */
export const ASSET_COLOURS: Record<Asset['kind'], string> = { lichtmast: '#b7791f', afvalbak: '#2f855a', camera: '#2b6cb0', bank: '#6b46c1' };

export function bounds(geometry: GeoJSON.Geometry): [[number, number], [number, number]] {
  let minX = 180, minY = 90, maxX = -180, maxY = -90;
  const walk = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === 'number') {
      const [x, y] = c as number[];
      minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
    } else if (Array.isArray(c)) c.forEach(walk);
  };
  walk((geometry as GeoJSON.Polygon).coordinates);
  return [[minX, minY], [maxX, maxY]];
}

/** The zoom at which the map will show `b` in a `width` × `height` box (with
 * the padding of `createMap`), before the map exists. */
export function fitZoom(b: [[number, number], [number, number]], width: number, height: number): number {
  const merc = (lat: number) => Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360));
  const zx = Math.log2(((width - 48) * 360) / (256 * Math.max(1e-9, b[1][0] - b[0][0])));
  const zy = Math.log2(((height - 48) * 2 * Math.PI) / (256 * Math.max(1e-9, merc(b[1][1]) - merc(b[0][1]))));
  return Math.min(zx, zy);
}

export function createMap(container: HTMLElement, cfg: UiConfig, area: Area, opts: { print?: boolean } = {}): MlMap {
  const sources: maplibregl.StyleSpecification['sources'] = {};
  const layers: maplibregl.LayerSpecification[] = [
    { id: 'background', type: 'background', paint: { 'background-color': '#eef0ec' } },
  ];
  if (cfg.basemap_url) {
    sources.basemap = { type: 'raster', tiles: [cfg.basemap_url], tileSize: 256, maxzoom: 19, attribution: cfg.basemap_attribution };
    layers.push({ id: 'basemap', type: 'raster', source: 'basemap', paint: { 'raster-opacity': 0.85 } });
  }
  const map = new maplibregl.Map({
    container,
    style: { version: 8, sources, layers },
    bounds: bounds(area.boundary as unknown as GeoJSON.Geometry),
    fitBoundsOptions: { padding: 24 },
    maxZoom: 20,
    attributionControl: { compact: true },
    canvasContextAttributes: { preserveDrawingBuffer: !!opts.print },
  });
  // A basemap that cannot be reached (venue Wi-Fi, the tests) leaves the plain
  // background: no error screen, and the data layers draw as usual.
  map.on('error', (e) => {
    if ((e as { sourceId?: string }).sourceId === 'basemap') document.body.dataset.basemap = 'unreachable';
    else console.warn('kaartfout / map error', e.error?.message);
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.on('load', () => {
    map.addSource('boundary', { type: 'geojson', data: { type: 'Feature', geometry: area.boundary as unknown as GeoJSON.Geometry, properties: {} } });
    map.addSource('zones', {
      type: 'geojson',
      data: { type: 'FeatureCollection', features: area.zones.map((z) => ({ type: 'Feature', geometry: z.geometry as unknown as GeoJSON.Geometry, properties: { name: z.name } })) },
    });
    map.addSource('heat', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    map.addLayer({ id: 'zones-fill', type: 'fill', source: 'zones', paint: { 'fill-color': '#0072b2', 'fill-opacity': 0.05 } });
    map.addLayer({ id: 'zones-line', type: 'line', source: 'zones', paint: { 'line-color': '#0072b2', 'line-width': 1.5, 'line-dasharray': [3, 2] } });
    map.addLayer({ id: 'boundary-line', type: 'line', source: 'boundary', paint: { 'line-color': '#1a1a1a', 'line-width': 2.5 } });
    map.addLayer({
      id: 'heat', type: 'heatmap', source: 'heat', maxzoom: POINTS_FROM_ZOOM + 1,
      paint: {
        // The square root keeps quieter cells visible next to the busiest one.
        'heatmap-weight': ['sqrt', ['get', 'weight']],
        'heatmap-intensity': ['interpolate', ['linear'], ['zoom'], 10, 0.8, 16, 1.2],
        // About one cell apart at every zoom (cells are coarser when zoomed out).
        'heatmap-radius': ['interpolate', ['exponential', 2], ['zoom'], 10, 5, 13, 25, 15, 100, 17, 400],
        'heatmap-opacity': ['interpolate', ['linear'], ['zoom'], POINTS_FROM_ZOOM - 0.5, 0.85, POINTS_FROM_ZOOM + 1, 0],
        'heatmap-color': ['interpolate', ['linear'], ['heatmap-density'],
          0, 'rgba(68,1,84,0)', 0.15, VIRIDIS[0], 0.35, VIRIDIS[1], 0.55, VIRIDIS[2], 0.75, VIRIDIS[3], 1, VIRIDIS[4]],
      },
    });
  });
  return map;
}

/** Sets the heatmap points and the incident tiles for a filter query. */
export function showData(map: MlMap, areaId: string, heat: GeoJSON.FeatureCollection, tileQuery: string, pointsAllowed: boolean): void {
  (map.getSource('heat') as GeoJSONSource).setData(heat);
  if (!pointsAllowed) return;
  const tiles = [`${location.origin}/api/v1/areas/${areaId}/tiles/{z}/{x}/{y}?${tileQuery}`];
  const src = map.getSource('incidents') as maplibregl.VectorTileSource | undefined;
  if (src) { src.setTiles(tiles); return; }
  map.addSource('incidents', { type: 'vector', tiles, minzoom: POINTS_FROM_ZOOM, maxzoom: 20 });
  map.addLayer({
    id: 'incidents', type: 'circle', source: 'incidents', 'source-layer': 'incidents', minzoom: POINTS_FROM_ZOOM,
    paint: {
      'circle-radius': 7, 'circle-stroke-width': 2, 'circle-stroke-color': '#ffffff',
      'circle-color': ['match', ['get', 'status'], ...Object.entries(STATUS_COLOURS).flat(), '#555555'] as unknown as maplibregl.ExpressionSpecification,
    },
  });
}

/** Draws the register's assets (layer `assets`, below the incidents), from `minzoom` on. */
export function showAssets(map: MlMap, assets: Asset[], minzoom = 0): void {
  const data: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: assets.map((a) => ({
    type: 'Feature', geometry: { type: 'Point', coordinates: [a.lon, a.lat] },
    properties: { id: a.id, kind: a.kind, label: a.external_id, street: a.street ?? '' },
  })) };
  const src = map.getSource('assets') as GeoJSONSource | undefined;
  if (src) { src.setData(data); return; }
  map.addSource('assets', { type: 'geojson', data });
  map.addLayer({
    id: 'assets', type: 'circle', source: 'assets', minzoom,
    paint: {
      'circle-radius': 4, 'circle-stroke-width': 1.5, 'circle-stroke-color': '#1a1a1a',
      'circle-color': ['match', ['get', 'kind'], ...Object.entries(ASSET_COLOURS).flat(), '#555555'] as unknown as maplibregl.ExpressionSpecification,
    },
  }, map.getLayer('incidents') ? 'incidents' : undefined);
}

/** A draggable pin (the reporting app's "wijs de plek aan"); calls `moved` with [lat, lon]. */
export function pinMarker(map: MlMap, at: [number, number], moved: (p: [number, number]) => void): maplibregl.Marker {
  const marker = new maplibregl.Marker({ draggable: true, color: '#d55e00' }).setLngLat([at[1], at[0]]).addTo(map);
  const report = () => { const p = marker.getLngLat(); moved([p.lat, p.lng]); };
  marker.on('dragend', report);
  map.on('click', (e) => { marker.setLngLat(e.lngLat); report(); });
  return marker;
}
