"""What `manage.py fetch_models` needs and the running engine does not: the TF.js graph
-> ONNX converter (`tfjs`, which needs the onnx package).  Nothing here is imported
while serving: transforms.ai.weights imports it only when it converts a fetched model.
"""
