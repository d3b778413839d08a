"""xtcocotools under numpy 2, for the scripts and tests that compare against it.

xtcocotools 1.14.3's only cp311 wheel is compiled against numpy 1.x, so its mask extension fails to import
under numpy 2 ("numpy.dtype size changed"). Keypoint evaluation never calls the mask functions (they serve
segmentation), so the extension is replaced by a stub that raises if anything does call it.
"""
import contextlib
import copy
import io
import sys
import types


def import_xtcocotools():
    """Returns (COCO, COCOeval, stubbed): stubbed is True when the mask extension had to be replaced."""
    try:
        from xtcocotools.coco import COCO
        from xtcocotools.cocoeval import COCOeval
        return COCO, COCOeval, False
    except ValueError:
        for name in [m for m in sys.modules if m.startswith("xtcocotools")]:
            del sys.modules[name]
        stub = types.ModuleType("xtcocotools._mask")

        def unavailable(name):
            def call(*args, **kwargs):
                raise RuntimeError(f"xtcocotools._mask.{name} is stubbed (numpy ABI); keypoint eval never calls it")
            return call

        stub.__getattr__ = unavailable
        sys.modules["xtcocotools._mask"] = stub
        from xtcocotools.coco import COCO
        from xtcocotools.cocoeval import COCOeval
        return COCO, COCOeval, True


def keypoint_stats(gt, dts):
    """The ten COCO keypoint stats of xtcocotools' COCOeval (iouType 'keypoints', standard sigmas, use_area);
    zeros when there is no detection (loadRes refuses an empty list)."""
    if not dts:
        return [0.0] * 10
    COCO, COCOeval, _ = import_xtcocotools()
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(copy.deepcopy(dts)), "keypoints", use_area=True)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(s) for s in ev.stats]
