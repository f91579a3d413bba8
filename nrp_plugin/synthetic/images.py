"""Procedural stimuli: 8 categories x 8 objects shown at varied poses on textured backgrounds.

A miniature of the MajajHong2015 ("HvM") design. Every object is a flat, shaded shape drawn from a
*category prototype* (a radial-harmonic outline, a polygon, a cluster of parts, ...) perturbed per
object, with its own colour and surface pattern. Each image shows one object at a pose drawn from
the ranges of its *variation level* (0: centred, fixed size and orientation; 3: moderate; 6: large
changes of position, size, in-plane and in-depth rotation) on a fresh coloured 1/f-noise background.

Everything is a pure function of integer seeds (numpy ``SeedSequence``), so the same seed draws the
same objects and renders byte-identical PNG files.
"""
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

CATEGORY_NAMES = ('blobs', 'stars', 'rods', 'trefoils', 'blocks', 'clusters', 'crescents', 'urchins')
N_OBJECTS_PER_CATEGORY = 8
VARIATIONS = (0, 3, 6)
OBJECT_RADIUS = 0.2  # radius of an object at scale 1, as a fraction of the image width
SUPERSAMPLE = 2  # masks are drawn at this factor and downsampled, for anti-aliased edges
_CONTOUR_POINTS = 256
_BACKGROUND_RESOLUTION = 128  # 1/f noise is synthesised at most at this size and upsampled

# pose ranges per variation level: max |shift| (fraction of image width), scale range, max |rotation| (deg)
VARIATION_RANGES = {
    0: dict(shift=0.0, scale=(1.0, 1.0), rxy=0.0, rxz=0.0),
    3: dict(shift=0.15, scale=(0.75, 1.25), rxy=45.0, rxz=45.0),
    6: dict(shift=0.3, scale=(0.55, 1.45), rxy=90.0, rxz=70.0),
}


@dataclass
class Part:
    """One closed outline of an object, in object units (1 = object radius).

    Attributes
    ----------
    center : tuple of float
        (x, y) of the part's centre.
    radius : float
    harmonics : ndarray, shape (n_harmonics,)
        Relative amplitude of harmonic ``k = 1 + index`` of the radial profile.
    phases : ndarray, shape (n_harmonics,)
    aspect : float
        Stretch along the part's own x axis (before ``angle``).
    angle : float
        Orientation of the part, radians.
    polygon : int
        ``0`` for a smooth outline; ``n >= 3`` for an n-gon whose radial profile is modulated.
    subtract : bool
        The part is cut out of the object (crescents).
    """
    center: tuple
    radius: float
    harmonics: np.ndarray
    phases: np.ndarray
    aspect: float = 1.0
    angle: float = 0.0
    polygon: int = 0
    subtract: bool = False

    def contour(self, n_points=_CONTOUR_POINTS):
        """The outline as points in object units, shape (n_points, 2)."""
        theta = np.linspace(0.0, 2 * np.pi, n_points, endpoint=False)
        k = np.arange(1, len(self.harmonics) + 1)[:, None]
        profile = 1.0 + np.sum(self.harmonics[:, None] * np.cos(k * theta + self.phases[:, None]), axis=0)
        if self.polygon >= 3:
            sector = 2 * np.pi / self.polygon
            profile = profile * np.cos(np.pi / self.polygon) / np.cos(np.mod(theta, sector) - sector / 2)
        radius = self.radius * np.clip(profile, 0.15, None)
        x, y = radius * np.cos(theta) * self.aspect, radius * np.sin(theta)
        cos, sin = np.cos(self.angle), np.sin(self.angle)
        return np.stack([self.center[0] + cos * x - sin * y, self.center[1] + sin * x + cos * y], axis=1)


@dataclass
class ObjectSpec:
    """A procedural object: its outline parts and its surface.

    Attributes
    ----------
    name, category : str
    parts : list of Part
    color : ndarray, shape (3,)
        Base RGB in [0, 1].
    pattern : str
        ``'plain'``, ``'stripes'`` or ``'checks'``.
    pattern_frequency : float
        Cycles per object radius.
    pattern_angle : float
        Radians, in object coordinates (the pattern turns with the object).
    """
    name: str
    category: str
    parts: list = field(default_factory=list)
    color: np.ndarray = None
    pattern: str = 'plain'
    pattern_frequency: float = 2.0
    pattern_angle: float = 0.0


def _rng(*keys):
    return np.random.default_rng(np.random.SeedSequence([int(key) for key in keys]))


def _harmonics(rng, n, dominant=None, amplitude=0.0, jitter=0.04):
    """Small random harmonic amplitudes, plus ``amplitude`` on harmonic ``dominant``; shape (n,)."""
    values = np.abs(rng.normal(0.0, jitter, n)) / np.arange(1, n + 1) ** 0.5
    if dominant is not None:
        values[dominant - 1] += amplitude
    return values


def _category_prototype(category, rng):
    """Category-level parameters every object of the category shares (before object jitter)."""
    proto = dict(harmonic_scale=rng.uniform(0.8, 1.2), aspect=rng.uniform(0.9, 1.1))
    if category == 'rods':
        proto['aspect'] = rng.uniform(2.6, 3.2)
    elif category == 'stars':
        proto['dominant'] = int(rng.integers(5, 7))
    elif category == 'urchins':
        proto['dominant'] = int(rng.integers(9, 12))
    elif category == 'blocks':
        proto['polygon'] = int(rng.integers(4, 6))
    elif category == 'clusters':
        proto['n_parts'] = 3
    return proto


def _object_parts(category, proto, rng):
    """Outline parts of one object of ``category``; object-level jitter of the prototype."""
    jitter = lambda low=0.85, high=1.15: rng.uniform(low, high)  # noqa: E731
    phases = lambda n: rng.uniform(0, 2 * np.pi, n)  # noqa: E731
    scale = proto['harmonic_scale']
    if category == 'blobs':
        harmonics = _harmonics(rng, 4, dominant=2, amplitude=0.12 * scale * jitter(0.5, 1.5), jitter=0.08)
        return [Part((0, 0), 0.95, harmonics, phases(4), aspect=proto['aspect'] * jitter(0.8, 1.25),
                     angle=rng.uniform(0, np.pi))]
    if category == 'stars':
        k = proto['dominant'] + int(rng.integers(-1, 2))
        harmonics = _harmonics(rng, k, dominant=k, amplitude=0.38 * scale * jitter())
        return [Part((0, 0), 0.9, harmonics, phases(k), aspect=jitter(0.85, 1.15))]
    if category == 'rods':
        harmonics = _harmonics(rng, 3, jitter=0.05)
        bend = Part((0, 0), 0.45, harmonics, phases(3), aspect=proto['aspect'] * jitter(), angle=rng.uniform(0, np.pi))
        knob_angle = bend.angle + (0 if rng.random() < 0.5 else np.pi)
        reach = 0.42 * bend.aspect * jitter(0.9, 1.0)  # a knob at one end of the rod: a club
        knob = Part((reach * np.cos(knob_angle), reach * np.sin(knob_angle)),
                    0.3 * jitter(0.8, 1.2), _harmonics(rng, 2), phases(2))
        return [bend, knob]
    if category == 'trefoils':
        harmonics = _harmonics(rng, 3, dominant=3, amplitude=0.42 * scale * jitter())
        return [Part((0, 0), 0.9, harmonics, phases(3), aspect=jitter(0.85, 1.15))]
    if category == 'blocks':
        n = proto['polygon'] + int(rng.integers(0, 2))
        harmonics = _harmonics(rng, 2, jitter=0.05)
        return [Part((0, 0), 0.9, harmonics, phases(2), polygon=n, aspect=proto['aspect'] * jitter(0.7, 1.4),
                     angle=rng.uniform(0, np.pi))]
    if category == 'clusters':
        body = Part((0, 0), 0.5 * jitter(), _harmonics(rng, 3), phases(3), aspect=jitter(0.8, 1.2))
        offset = rng.uniform(0, 2 * np.pi)
        lobes = [Part((0.55 * np.cos(offset + 2 * np.pi * i / proto['n_parts'] + rng.normal(0, 0.3)),
                       0.55 * np.sin(offset + 2 * np.pi * i / proto['n_parts'] + rng.normal(0, 0.3))),
                      0.33 * jitter(0.8, 1.25), _harmonics(rng, 3), phases(3))
                 for i in range(proto['n_parts'])]
        return [body] + lobes
    if category == 'crescents':
        disk = Part((0, 0), 0.95, _harmonics(rng, 3, jitter=0.05), phases(3), aspect=jitter(0.9, 1.15))
        cut_angle = rng.uniform(0, 2 * np.pi)
        cut_distance = 0.55 * jitter(0.8, 1.2)
        cut = Part((cut_distance * np.cos(cut_angle), cut_distance * np.sin(cut_angle)), 0.8 * jitter(0.9, 1.1),
                   _harmonics(rng, 2), phases(2), subtract=True)
        return [disk, cut]
    if category == 'urchins':
        k = proto['dominant'] + int(rng.integers(-1, 2))
        harmonics = _harmonics(rng, k, dominant=k, amplitude=0.25 * scale * jitter())
        harmonics[1] += 0.12 * jitter(0.3, 1.5)
        return [Part((0, 0), 0.85, harmonics, phases(k), aspect=jitter(0.85, 1.15))]
    raise ValueError(f"Unknown category {category!r}; choose one of {CATEGORY_NAMES}.")


def _hsv_to_rgb(h, s, v):
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return np.array([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i])


def make_objects(seed):
    """Draw the 64 objects of a world.

    Parameters
    ----------
    seed : int

    Returns
    -------
    list of ObjectSpec
        Length ``len(CATEGORY_NAMES) * N_OBJECTS_PER_CATEGORY``, category-major; names like
        ``'stars03'``.
    """
    objects = []
    for c, category in enumerate(CATEGORY_NAMES):
        proto = _category_prototype(category, _rng(seed, 1, c))
        for o in range(N_OBJECTS_PER_CATEGORY):
            rng = _rng(seed, 2, c, o)
            parts = _object_parts(category, proto, rng)
            color = _hsv_to_rgb(rng.random(), rng.uniform(0.35, 0.9), rng.uniform(0.55, 0.95))
            pattern = str(rng.choice(['plain', 'stripes', 'checks']))
            objects.append(ObjectSpec(name=f'{category}{o:02d}', category=category, parts=parts, color=color,
                                      pattern=pattern, pattern_frequency=rng.uniform(1.2, 3.5),
                                      pattern_angle=rng.uniform(0, np.pi)))
    return objects


def draw_pose(variation, rng):
    """A random pose within the ranges of ``variation``.

    Returns
    -------
    dict
        ``ty``, ``tz`` (horizontal, vertical shift, fraction of the image width), ``s`` (scale),
        ``rxy`` (in-plane rotation, degrees), ``rxz`` (rotation in depth about the vertical axis,
        degrees; rendered as horizontal foreshortening).
    """
    if variation not in VARIATION_RANGES:
        raise ValueError(f"variation={variation!r} is not a variation level; choose one of {VARIATIONS}.")
    ranges = VARIATION_RANGES[variation]
    return dict(ty=float(rng.uniform(-ranges['shift'], ranges['shift'])),
                tz=float(rng.uniform(-ranges['shift'], ranges['shift'])),
                s=float(rng.uniform(*ranges['scale'])),
                rxy=float(rng.uniform(-ranges['rxy'], ranges['rxy'])),
                rxz=float(rng.uniform(-ranges['rxz'], ranges['rxz'])))


def _pose_matrix(pose, size):
    """Object units -> pixel coordinates: ``pixel = A @ xy + b``; A shape (2, 2), b shape (2,)."""
    radius_px = OBJECT_RADIUS * size * pose['s']
    squash = max(np.cos(np.deg2rad(pose['rxz'])), 0.3)
    angle = np.deg2rad(pose['rxy'])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = radius_px * rotation @ np.diag([squash, 1.0])
    offset = np.array([size / 2 + pose['ty'] * size, size / 2 - pose['tz'] * size])
    return matrix, offset


def _object_mask(spec, matrix, offset, size):
    """Anti-aliased coverage of the object, shape (size, size), float in [0, 1]."""
    big = size * SUPERSAMPLE
    canvas = Image.new('L', (big, big), 0)
    draw = ImageDraw.Draw(canvas)
    for part in spec.parts:
        points = (part.contour() @ matrix.T + offset) * SUPERSAMPLE
        draw.polygon(points.ravel().tolist(), fill=0 if part.subtract else 255)
    canvas = canvas.resize((size, size), Image.BOX)
    return np.asarray(canvas, dtype=np.float64) / 255.0


def _object_surface(spec, matrix, offset, box, size):
    """Shaded, patterned RGB of the object inside ``box`` (a pair of slices) of a (size, size) image.

    Returns
    -------
    ndarray, shape (box height, box width, 3)
    """
    rows, cols = np.mgrid[box[0], box[1]].astype(np.float64) + 0.5
    (a, b), (c, d) = matrix
    inverse = np.array([[d, -b], [-c, a]]) / (a * d - b * c)
    u = inverse[0, 0] * (cols - offset[0]) + inverse[0, 1] * (rows - offset[1])
    v = inverse[1, 0] * (cols - offset[0]) + inverse[1, 1] * (rows - offset[1])
    phase = 2 * np.pi * spec.pattern_frequency * (u * np.cos(spec.pattern_angle) + v * np.sin(spec.pattern_angle))
    if spec.pattern == 'stripes':
        texture = 0.75 + 0.25 * np.sign(np.cos(phase))
    elif spec.pattern == 'checks':
        other = 2 * np.pi * spec.pattern_frequency * (-u * np.sin(spec.pattern_angle) + v * np.cos(spec.pattern_angle))
        texture = 0.75 + 0.25 * np.sign(np.cos(phase) * np.cos(other))
    else:
        texture = np.ones_like(u)
    # light from the upper left of the screen, a dome-like falloff in object coordinates
    light = 1.0 - 0.25 * np.clip(u ** 2 + v ** 2, 0, 1.5) + 0.15 * ((size / 2 - cols) + (size / 2 - rows)) / size
    return np.clip(spec.color[None, None, :] * (texture * light)[..., None], 0, 1)


def draw_background(rng, size):
    """A coloured 1/f-noise texture with a faint grating, shape (size, size, 3), float in [0, 1].

    The noise is synthesised at up to ``_BACKGROUND_RESOLUTION`` pixels and upsampled (its power is in
    the low frequencies); the grating is drawn at full resolution.
    """
    low = min(size, _BACKGROUND_RESOLUTION)
    fy = np.fft.fftfreq(low)[:, None]
    fx = np.fft.rfftfreq(low)[None, :]
    radius = np.sqrt(fx ** 2 + fy ** 2)
    radius[0, 0] = 1.0
    exponent = rng.uniform(1.0, 1.6)
    spectra = (rng.standard_normal((3,) + radius.shape) + 1j * rng.standard_normal((3,) + radius.shape))
    spectra = spectra / radius ** exponent
    spectra[:, 0, 0] = 0.0
    noise = np.fft.irfft2(spectra, s=(low, low), axes=(1, 2))
    noise = noise / (noise.std(axis=(1, 2), keepdims=True) + 1e-12)
    mixing = rng.normal(0.0, 1.0, (3, 3)) * 0.05 + np.eye(3) * rng.uniform(0.03, 0.1)
    mean = rng.uniform(0.25, 0.75, 3)
    image = mean + np.einsum('chw,dc->hwd', noise, mixing)
    if low != size:
        image = _upsample(image, size)
    axis = (np.arange(size) + 0.5) / size
    angle, frequency = rng.uniform(0, np.pi), rng.uniform(4, 16)
    phase_x = 2 * np.pi * frequency * axis * np.cos(angle) + rng.uniform(0, 2 * np.pi)
    phase_y = 2 * np.pi * frequency * axis * np.sin(angle)
    # cos(a + b) = cos a cos b - sin a sin b: the grating as two outer products
    grating = np.outer(np.cos(phase_y), np.cos(phase_x)) - np.outer(np.sin(phase_y), np.sin(phase_x))
    image += rng.uniform(0.0, 0.08) * grating[..., None]
    return np.clip(image, 0, 1, out=image)


def _upsample(image, size):
    """Bicubic resize of a float image, shape (h, w, c) -> (size, size, c)."""
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(image[..., c], dtype=np.float32))  # mode 'F'
                           .resize((size, size), Image.BICUBIC)) for c in range(image.shape[-1])]
    return np.stack(channels, axis=-1).astype(np.float64)


def render(spec, pose, background):
    """Composite ``spec`` at ``pose`` over ``background``.

    Parameters
    ----------
    spec : ObjectSpec
    pose : dict
        As from :func:`draw_pose`.
    background : ndarray, shape (size, size, 3)
        Floats in [0, 1].

    Returns
    -------
    ndarray, shape (size, size, 3), uint8
    """
    size = background.shape[0]
    matrix, offset = _pose_matrix(pose, size)
    mask = _object_mask(spec, matrix, offset, size)
    image = background.copy()
    rows, cols = np.nonzero(mask)
    if len(rows):
        box = slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1)
        surface = _object_surface(spec, matrix, offset, box, size)
        alpha = mask[box][..., None]
        image[box] = background[box] * (1 - alpha) + surface * alpha
    return np.round(image * 255).astype(np.uint8)


def render_stimulus(spec, variation, seed, index, size):
    """Render one image of a world.

    Parameters
    ----------
    spec : ObjectSpec
    variation : int
        0, 3 or 6.
    seed : int
        The world's seed.
    index : int
        The image's index in the world; with ``seed`` it fixes the pose and the background.
    size : int
        Image width and height in pixels.

    Returns
    -------
    image : ndarray, shape (size, size, 3), uint8
    pose : dict
    """
    rng = _rng(seed, 3, index)
    pose = draw_pose(variation, rng)
    background = draw_background(rng, size)
    return render(spec, pose, background), pose


def save_png(image, path):
    """Write ``image`` (shape (h, w, 3), uint8) as a PNG without metadata, so bytes depend on pixels only."""
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(path, format='PNG', compress_level=1)
