from tests.bank import Wrong

EDGE = "03-feature-detectors.vertical_edge_filter"  # 2 points; groups 1 + 1 + 2 + 1
MAPS = "03-feature-detectors.activation_maps"  # 3 points; groups 1 + 2 + 1 + 1 + 1 + 1
ARGMAX = "03-feature-detectors.strongest_response"  # 2 points; groups 1 + 2 + 1 + 1
SOBEL = "03-feature-detectors.sobel_magnitude"  # 3 points; groups 1 + 2 + 1 + 1

WRONG = [
    # ------------------------------------------------------------------ vertical_edge_filter
    Wrong(EDGE, "horizontal detector", """
def vertical_edge_filter():
    return np.array([[-1.0, -2.0, -1.0],
                     [0.0, 0.0, 0.0],
                     [1.0, 2.0, 1.0]])
""", score=2 * 2 / 5, diagnosis="horizontal edge detector (rotated 90°)"),  # form + flat
    Wrong(EDGE, "all positive (blur)", """
def vertical_edge_filter():
    return np.ones((3, 3)) / 9
""", score=2 * 1 / 5, diagnosis="all positive weights"),  # form only
    Wrong(EDGE, "zero filter", """
def vertical_edge_filter():
    return np.zeros((3, 3))
""", score=0.0, diagnosis="zero filter"),
    Wrong(EDGE, "integer dtype", """
def vertical_edge_filter():
    return np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
""", score=2 * 4 / 5, diagnosis="integer dtype"),  # behaves, but not floats
    Wrong(EDGE, "diagonal", """
def vertical_edge_filter():
    return np.array([[0.0, 1.0, 1.0], [-1.0, 0.0, 1.0], [-1.0, -1.0, 0.0]])
""", score=2 * 2 / 5, diagnosis="not oriented"),  # form + flat
    Wrong(EDGE, "weights do not sum to zero", """
def vertical_edge_filter():
    return np.array([[-1.0, 0.0, 2.0]] * 3)
""", score=2 * 1 / 5, diagnosis="do not sum to 0"),
    Wrong(EDGE, "one row only", """
def vertical_edge_filter():
    return np.array([[-1.0, 0.0, 1.0]])
""", score=0.0, diagnosis="wrong shape (1, 3)"),
    # ------------------------------------------------------------------ activation_maps
    Wrong(MAPS, "kernel flipped", """
def activation_maps(image, filters):
    flipped = filters[:, :, ::-1, ::-1]
    windows = sliding_window_view(image, filters.shape[2:], axis=(1, 2))
    return np.einsum("cijpq,fcpq->fij", windows, flipped)
""", score=3 * 1 / 7, diagnosis="kernel flipped"),  # passes only the 1×1 filters
    Wrong(MAPS, "first channel only", """
def activation_maps(image, filters):
    f, c, kh, kw = filters.shape
    h, w = image.shape[1] - kh + 1, image.shape[2] - kw + 1
    out = np.zeros((f, h, w))
    for k in range(f):
        for i in range(h):
            for j in range(w):
                out[k, i, j] = np.sum(image[0, i:i + kh, j:j + kw] * filters[k, 0])
    return out
""", score=3 * 1 / 7, diagnosis="only the first channel"),  # passes only C = 1
    Wrong(MAPS, "summed over filters", """
def activation_maps(image, filters):
    windows = sliding_window_view(image, filters.shape[2:], axis=(1, 2))
    return np.einsum("cijpq,fcpq->ij", windows, filters)
""", score=0.0, diagnosis="summed over filters"),
    Wrong(MAPS, "loop overwrites the map", """
def activation_maps(image, filters):
    f, c, kh, kw = filters.shape
    windows = sliding_window_view(image, (kh, kw), axis=(1, 2))
    out = np.zeros((f, image.shape[1] - kh + 1, image.shape[2] - kw + 1))
    for k in range(f):
        out[:] = np.einsum("cijpq,cpq->ij", windows, filters[k])
    return out
""", score=3 * 1 / 7, diagnosis="only one map returned"),  # passes only F = 1
    Wrong(MAPS, "channels last", """
def activation_maps(image, filters):
    windows = sliding_window_view(image, filters.shape[2:], axis=(1, 2))
    return np.einsum("cijpq,fcpq->ijf", windows, filters)
""", score=0.0, diagnosis="channel axis mixed up"),
    # ------------------------------------------------------------------ strongest_response
    Wrong(ARGMAX, "(col, row) swapped", """
def strongest_response(activation_map):
    row, col = np.unravel_index(np.argmax(activation_map), activation_map.shape)
    return int(col), int(row)
""", score=0.0, diagnosis="(col, row) swapped"),
    Wrong(ARGMAX, "flat index", """
def strongest_response(activation_map):
    return int(np.argmax(activation_map))
""", score=0.0, diagnosis="flat index"),
    Wrong(ARGMAX, "argmin", """
def strongest_response(activation_map):
    row, col = np.unravel_index(np.argmin(activation_map), activation_map.shape)
    return int(row), int(col)
""", score=0.0, diagnosis="argmin instead of argmax"),
    Wrong(ARGMAX, "largest absolute value", """
def strongest_response(activation_map):
    row, col = np.unravel_index(np.argmax(np.abs(activation_map)), activation_map.shape)
    return int(row), int(col)
""", score=2 * 1 / 5, diagnosis="largest absolute value"),  # passes only the non-negative ties
    Wrong(ARGMAX, "last of the ties (>= in a loop)", """
def strongest_response(activation_map):
    best = (0, 0)
    for i in range(activation_map.shape[0]):
        for j in range(activation_map.shape[1]):
            if activation_map[i, j] >= activation_map[best]:
                best = (i, j)
    return best
""", score=2 * 4 / 5, diagnosis="last of several tied maxima"),
    Wrong(ARGMAX, "array instead of tuple", """
def strongest_response(activation_map):
    return np.array(np.unravel_index(np.argmax(activation_map), activation_map.shape))
""", score=0.0, diagnosis="array instead of a tuple"),
    # ------------------------------------------------------------------ sobel_magnitude
    Wrong(SOBEL, "no square root", """
def sobel_magnitude(image):
    k = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    windows = sliding_window_view(image, (3, 3))
    gx = np.einsum("ijpq,pq->ij", windows, k)
    gy = np.einsum("ijpq,pq->ij", windows, k.T)
    return gx**2 + gy**2
""", score=0.0, diagnosis="square root missing"),
    Wrong(SOBEL, "|gx| + |gy|", """
def sobel_magnitude(image):
    k = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    windows = sliding_window_view(image, (3, 3))
    gx = np.einsum("ijpq,pq->ij", windows, k)
    gy = np.einsum("ijpq,pq->ij", windows, k.T)
    return np.abs(gx) + np.abs(gy)
""", score=3 * 1 / 5, diagnosis="|G_x| + |G_y|"),  # right when G_y = 0
    Wrong(SOBEL, "gx only", """
def sobel_magnitude(image):
    k = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    return np.abs(np.einsum("ijpq,pq->ij", sliding_window_view(image, (3, 3)), k))
""", score=3 * 1 / 5, diagnosis="only G_x"),
    Wrong(SOBEL, "Prewitt", """
def sobel_magnitude(image):
    k = np.array([[-1.0, 0.0, 1.0]] * 3)
    windows = sliding_window_view(image, (3, 3))
    return np.hypot(np.einsum("ijpq,pq->ij", windows, k), np.einsum("ijpq,pq->ij", windows, k.T))
""", score=0.0, diagnosis="Prewitt weights"),
    Wrong(SOBEL, "same-size output", """
def sobel_magnitude(image):
    k = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    windows = sliding_window_view(np.pad(image, 1), (3, 3))
    return np.hypot(np.einsum("ijpq,pq->ij", windows, k), np.einsum("ijpq,pq->ij", windows, k.T))
""", score=0.0, diagnosis="padded to the input size"),
]
