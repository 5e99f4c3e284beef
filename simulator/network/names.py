"""Names of the zoo's models, kept free of torch so that validating a workload stays fast.

tests/test_zoo.py checks that this list and the zoo's builders agree.
"""

ZOO_MODEL_NAMES: tuple[str, ...] = (
    "lenet5",
    "alexnet",
    "vgg8",
    "vgg11",
    "vgg13",
    "vgg16",
    "vgg19",
    "vgg11_bn",
    "vgg13_bn",
    "vgg16_bn",
    "vgg19_bn",
    "resnet18",
    "resnet20",
    "mobilenet",
    "googlenet",
)
