"""The run layer: the data model (``model``), its aggregation (``aggregate``), its storage (``store``) and the metric catalogue (``metrics``)."""
