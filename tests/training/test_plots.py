"""The plots command writes four real, non-empty PNG figures."""

from PIL import Image

from training.dataset import LabelledImages
from training.plots import write_plots


def test_plots_are_non_empty_pngs(mnist, smoke_run, tmp_path):
    test = LabelledImages.from_numpy(mnist.test_images[:1500], mnist.test_labels[:1500])
    run_dir = smoke_run.run_dir
    paths = write_plots(run_dir, run_dir / "best.pt", test, tmp_path / "plots")
    assert [p.name for p in paths] == ["curves.png", "confusion.png", "samples.png", "misclassified.png"]
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG"
            width, height = image.size
            assert width > 300 and height > 200
            assert sum(1 for n in image.convert("L").histogram() if n) > 10  # drawn, not blank
