"""The laptop side: the four-pixel network, its training data, and the model file.

- ``patterns``, ``data``: pixel order, classes, generated patterns, CSV recordings;
- ``activations``, ``network``, ``optimizers``, ``training``: backpropagation and the fit;
- ``estimator``: ``PixelnetClassifier`` for scikit-learn; ``sklearn_import``: MLPClassifier in;
- ``train``: ``train_default`` and ``train_model`` (data in, Model out);
- ``model_file``: the versioned JSON model; ``lesson``: the lesson's hand-wired network;
- ``evaluate``, ``receptive``, ``show``: accuracy, receptive fields, summary and picture.
"""
