"""The synthetic world's teacher network as a Brain-Score model."""
import functools

from brainscore_vision.model_helpers.activations.pytorch import PytorchWrapper, load_preprocess_images
from brainscore_vision.model_helpers.brain_transformation import ModelCommitment

from ..synthetic.teacher import LAYERS, REGION_LAYERS, TEACHER_IMAGE_SIZE, TeacherNet


def teacher_brain_model(identifier='SyntheticMajajHong2015-teacher', seed=0):
    """The teacher as a Brain-Score model: ``ModelCommitment`` over a ``PytorchWrapper``.

    Parameters
    ----------
    identifier : str
    seed : int
        Teacher seed; must match the world's ``teacher_seed`` for its activations to be the world's features.

    Returns
    -------
    brainscore_vision.model_helpers.brain_transformation.ModelCommitment
        With ``region_layer_map`` V1->v1, V2->v2, V4->v4, IT->it, ``visual_degrees`` 8, and the
        attribute ``nrp_layers = {'V4': ['v4'], 'IT': ['it']}``. Images are preprocessed by Brain-Score's
        ``load_preprocess_images`` at the teacher's image size.
    """
    preprocessing = functools.partial(load_preprocess_images, image_size=TEACHER_IMAGE_SIZE)
    wrapper = PytorchWrapper(identifier=identifier, model=TeacherNet(seed), preprocessing=preprocessing)
    wrapper.image_size = TEACHER_IMAGE_SIZE
    commitment = ModelCommitment(identifier=identifier, activations_model=wrapper, layers=list(LAYERS),
                                 region_layer_map=dict(REGION_LAYERS), visual_degrees=8)
    commitment.nrp_layers = {'V4': [REGION_LAYERS['V4']], 'IT': [REGION_LAYERS['IT']]}
    return commitment
