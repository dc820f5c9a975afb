"""The fusion blocks inside other projects' model builders: ``smp`` (segmentation_models_
pytorch's U-Net) and ``ultralytics`` (model YAMLs). Each imports its project when used."""
