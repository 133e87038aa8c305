// Drawing a polygon on the map: a click sets a corner, "Klaar" closes the
// ring. No plug-in: one GeoJSON source shows the corners and the shape so far.
import type { GeoJSONSource, Map as MlMap, MapMouseEvent } from 'maplibre-gl';
import * as maplibregl from 'maplibre-gl';

const SOURCE = 'draft';

function ensureLayers(map: MlMap) {
  if (map.getSource(SOURCE)) return;
  map.addSource(SOURCE, { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'draft-fill', type: 'fill', source: SOURCE, filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': '#e69f00', 'fill-opacity': 0.2 } });
  map.addLayer({ id: 'draft-line', type: 'line', source: SOURCE, paint: { 'line-color': '#d55e00', 'line-width': 2.5 } });
  map.addLayer({ id: 'draft-corners', type: 'circle', source: SOURCE, filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-radius': 5, 'circle-color': '#d55e00', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
}

/** Shows a drawn (or uploaded) shape, or nothing. */
export function showDraft(map: MlMap, corners: [number, number][]) {
  ensureLayers(map);
  const features: GeoJSON.Feature[] = corners.map((c) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: {} }));
  if (corners.length >= 3) features.push({ type: 'Feature', geometry: { type: 'Polygon', coordinates: [[...corners, corners[0]]] }, properties: {} });
  else if (corners.length === 2) features.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: corners }, properties: {} });
  (map.getSource(SOURCE) as GeoJSONSource).setData({ type: 'FeatureCollection', features });
}

/** A drawing session: corners come from clicks until `finish` or `cancel`. */
export class Drawing {
  corners: [number, number][] = [];
  private readonly onClick = (e: MapMouseEvent) => {
    this.corners.push([Number(e.lngLat.lng.toFixed(7)), Number(e.lngLat.lat.toFixed(7))]);
    this.changed();
  };

  constructor(private readonly map: MlMap, private readonly onChange: (n: number) => void) {
    ensureLayers(map);
    map.getCanvas().style.cursor = 'crosshair';
    map.doubleClickZoom.disable();
    map.on('click', this.onClick);
    this.changed();
  }

  private changed() {
    showDraft(this.map, this.corners);
    document.body.dataset.drawCorners = String(this.corners.length);
    this.onChange(this.corners.length);
  }

  undo() { this.corners.pop(); this.changed(); }

  /** The closed polygon, or null with fewer than three corners. */
  finish(): GeoJSON.Polygon | null {
    this.stop();
    if (this.corners.length < 3) return null;
    return { type: 'Polygon', coordinates: [[...this.corners, this.corners[0]]] };
  }

  stop() {
    this.map.off('click', this.onClick);
    this.map.getCanvas().style.cursor = '';
    this.map.doubleClickZoom.enable();
  }
}

/** A marker where the server says a shape is wrong. */
let problemMarker: maplibregl.Marker | null = null;
export function markProblem(map: MlMap, at: [number, number] | null | undefined, title: string) {
  problemMarker?.remove();
  problemMarker = null;
  if (!at) return;
  const dot = document.createElement('div');
  dot.className = 'problem-marker';
  dot.title = title;
  dot.setAttribute('role', 'img');
  dot.setAttribute('aria-label', title);
  problemMarker = new maplibregl.Marker({ element: dot }).setLngLat(at).addTo(map);
  map.easeTo({ center: at, duration: 0 });
}
