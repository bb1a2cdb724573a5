"""What `manage.py fetch_models` needs and the running engine does not: the TF.js graph
-> ONNX converter (`tfjs`) and the TF.js layers-model one (`layers`; both need the onnx
package).  Nothing here is imported while serving: transforms.ai.weights imports them only
when it converts a fetched model.
"""
