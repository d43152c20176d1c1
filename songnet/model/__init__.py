"""The theme networks and the ``train``, ``evaluate`` and ``release`` stages.

- :mod:`songnet.model.network`: ``ModelConfig``, ``ThemeCNN`` (the default network), the
  ``Network`` interface.
- :mod:`songnet.model.archs`: the networks ``train.arch`` chooses from (``ARCHS``,
  ``build_model``), ``count_params``, ``count_flops``.
- :mod:`songnet.model.checkpoint`: checkpoints, the shipped default model, batched inference.
- :mod:`songnet.model.train_params`: ``TrainParams``; :mod:`songnet.model.train`: the training
  loop (its augmentation :mod:`songnet.model.augment`, its resumable state
  :mod:`songnet.model.train_state`, the fits after it :mod:`songnet.model.calibrate`).
- :mod:`songnet.model.evaluate`: metrics, confusion matrices, calibration, their files.
- :mod:`songnet.model.release`: the shipped model and its model card.
- :mod:`songnet.model.compare`, :mod:`songnet.model.compare_run`: every (arch, frontend) pair
  trained on the same surrogates (``songnet compare``).
"""
